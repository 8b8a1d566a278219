"""Contiguous segments of a flat array, and reductions over them.

Everything per user is computed on flat arrays sorted so that each (user, mechanic) pair — a
*unit* — occupies one contiguous, non-empty run of rows. A `Segments` value describes those runs;
its reductions (`np.add.reduceat`) and broadcasts (`np.repeat`) are the only per-user operations
on the hot path, so no Python loop ever visits a user or an event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class Segments:
    """u non-empty contiguous segments covering rows 0..n-1 in order.

    start:    (u,) int64, first row of each segment (strictly increasing, start[0] == 0)
    length:   (u,) int64, rows in each segment (all >= 1)
    index:    (n,) int64, segment of each row
    position: (n,) int64, 0-based position of each row within its segment
    """

    start: NDArray[np.int64]
    length: NDArray[np.int64]
    index: NDArray[np.int64]
    position: NDArray[np.int64]

    @classmethod
    def from_lengths(cls, length: NDArray[np.int64]) -> Segments:
        """Segments of the given (u,) positive lengths, laid end to end."""
        length = np.asarray(length, dtype=np.int64)
        if length.size and int(length.min()) < 1:
            raise ValueError("segments must be non-empty")
        start = np.zeros(length.shape[0], dtype=np.int64)
        if length.size:
            np.cumsum(length[:-1], out=start[1:])
        n = int(length.sum())
        index = np.repeat(np.arange(length.shape[0], dtype=np.int64), length)
        position = np.arange(n, dtype=np.int64) - np.repeat(start, length)
        return cls(start=start, length=length, index=index, position=position)

    @classmethod
    def from_first_flags(cls, first: NDArray[np.bool_]) -> Segments:
        """Segments beginning at each row where `first` is True (first[0] must be True)."""
        n = first.shape[0]
        if n and not bool(first[0]):
            raise ValueError("the first row must open a segment")
        start = np.flatnonzero(first).astype(np.int64)
        length = np.diff(np.append(start, n)).astype(np.int64)
        return cls.from_lengths(length)

    @property
    def count(self) -> int:
        return int(self.start.shape[0])

    @property
    def rows(self) -> int:
        return int(self.index.shape[0])

    @property
    def first(self) -> NDArray[np.bool_]:
        """(n,) True at the first row of each segment."""
        return np.asarray(self.position == 0, dtype=bool)

    @property
    def last(self) -> NDArray[np.bool_]:
        """(n,) True at the last row of each segment."""
        out = np.zeros(self.rows, dtype=bool)
        out[self.start + self.length - 1] = True
        return out

    def sum(
        self, x: NDArray[np.float64] | NDArray[np.int64] | NDArray[np.bool_]
    ) -> NDArray[np.float64]:
        """(u,) sum of x (n,) over each segment."""
        if self.count == 0:
            return np.zeros(0, dtype=np.float64)
        return np.add.reduceat(np.asarray(x, dtype=np.float64), self.start)

    def broadcast(self, values: NDArray[np.float64]) -> NDArray[np.float64]:
        """(n,) each segment's value (u,) repeated over its rows."""
        return np.repeat(np.asarray(values, dtype=np.float64), self.length)

    def broadcast_int(self, values: NDArray[np.int64]) -> NDArray[np.int64]:
        """(n,) each segment's integer value (u,) repeated over its rows."""
        return np.repeat(np.asarray(values, dtype=np.int64), self.length)

    def take(self, keep: NDArray[np.bool_]) -> Segments:
        """The segments whose `keep` (u,) is True, re-laid end to end."""
        return Segments.from_lengths(self.length[keep])

    def rows_of(self, keep: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """(n,) row mask of the segments whose `keep` (u,) is True."""
        return np.repeat(keep, self.length)


def stable_argsort(key: NDArray[np.int64]) -> NDArray[np.int64]:
    """`np.argsort(key, kind="stable")` of non-negative integer keys.

    Keys below 2¹⁶ are sorted as 16-bit integers (numpy's stable sort is then a radix sort);
    otherwise, when key·2ᵇ + position fits in 63 bits (b bits per position), one `np.sort` of
    those packed values sorts keys and, among equal keys, positions — several times faster
    than the indirect stable sort.
    """
    n = key.shape[0]
    bits = max(int(n - 1).bit_length(), 1)
    low, high = (int(key.min()), int(key.max())) if n else (0, 0)
    if low >= 0 and high < 1 << 16:
        # numpy sorts 16-bit integers stably by radix: linear time
        return np.argsort(key.astype(np.uint16), kind="stable").astype(np.int64)
    if n < 2 or low < 0 or high.bit_length() + bits > 62:
        return np.argsort(key, kind="stable").astype(np.int64)
    packed = (key.astype(np.int64) << bits) | np.arange(n, dtype=np.int64)
    packed.sort()
    return np.asarray(packed & ((1 << bits) - 1), dtype=np.int64)


def forward_fill_index(mark: NDArray[np.bool_], segments: Segments) -> NDArray[np.int64]:
    """(n,) for each row, the last row at or before it in the same segment where `mark` is True.

    -1 where no marked row precedes within the segment. Computed with a running maximum, so
    the cost is O(n) without a loop.
    """
    rows = np.arange(segments.rows, dtype=np.int64)
    candidate = np.where(mark, rows, -1)
    last = np.maximum.accumulate(candidate) if segments.rows else candidate
    seg_start = np.repeat(segments.start, segments.length)
    return np.where(last >= seg_start, last, -1)


def previous_index(mark: NDArray[np.bool_], segments: Segments) -> NDArray[np.int64]:
    """(n,) the last row strictly before each row in the same segment where `mark` is True.

    -1 where there is none.
    """
    filled = forward_fill_index(mark, segments)
    out = np.full(segments.rows, -1, dtype=np.int64)
    if segments.rows > 1:
        out[1:] = filled[:-1]
    out[segments.first] = -1
    return out


def _width(length: NDArray[np.int64]) -> NDArray[np.int64]:
    """Row width of a unit of each length: exact up to 16, then the next of ⌈16·1.2ᵏ⌉ (≤ 20 %
    padding), so a unit's width depends on its own length only."""
    width = np.array(length, dtype=np.int64, copy=True)
    long = np.flatnonzero(width > 16)
    ln = width[long]
    k = np.ceil(np.log(ln / 16.0) / np.log(1.2) - 1e-9)
    wide = np.ceil(16.0 * 1.2 ** np.maximum(k, 0.0)).astype(np.int64)
    width[long] = np.maximum(wide, ln)  # guard against rounding at the class edges
    return width


@dataclass(frozen=True, slots=True)
class RowLayout:
    """Segments re-laid out as zero-padded rows of a few widths, rows of one width adjacent.

    A filter run along each row (axis 1 of a block of equal-width rows) sees only its own unit,
    so its result for a unit does not depend on the other units — bit for bit — unlike a filter
    run over the concatenated array.

    widths:     (u,) padded row widths, in padded order
    unit_order: (u,) original segment index of each padded row
    rows:       (n,) index in the padded array of each original row
    blocks:     (start, rows, width) of each block of equal-width rows
    """

    widths: NDArray[np.int64]
    unit_order: NDArray[np.int64]
    rows: NDArray[np.int64]
    blocks: tuple[tuple[int, int, int], ...]

    @classmethod
    def of(cls, segments: Segments) -> RowLayout:
        """The layout of `segments`: rows of a few widths (≤ 20 % padding)."""
        width = _width(segments.length)
        order = stable_argsort(width)
        w_sorted = width[order]
        padded_start = np.zeros(order.size, dtype=np.int64)
        if order.size:
            np.cumsum(w_sorted[:-1], out=padded_start[1:])
        start_of_unit = np.empty(segments.count, dtype=np.int64)
        start_of_unit[order] = padded_start
        rows = np.repeat(start_of_unit, segments.length) + segments.position
        cuts = np.flatnonzero(np.diff(w_sorted)) + 1
        firsts = (
            np.concatenate([[0], cuts]).astype(np.int64) if order.size else np.zeros(0, np.int64)
        )
        ends = np.concatenate([cuts, [order.size]]).astype(np.int64) if order.size else firsts
        blocks = tuple(
            (int(padded_start[f]), int(e - f), int(w_sorted[f]))
            for f, e in zip(firsts, ends, strict=True)
        )
        return cls(widths=w_sorted, unit_order=order, rows=rows, blocks=blocks)

    @property
    def size(self) -> int:
        """Rows of the padded array."""
        return int(self.widths.sum())

    def pad(self, x: NDArray[np.float64], fill: float = 0.0) -> NDArray[np.float64]:
        """(n_padded,) the rows' values in padded layout, `fill` in the padding."""
        out = np.full(self.size, fill, dtype=np.float64)
        out[self.rows] = x
        return out

    def unpad(self, x_padded: NDArray[np.float64]) -> NDArray[np.float64]:
        """(n,) back in the original row order."""
        return np.asarray(x_padded[self.rows], dtype=np.float64)
