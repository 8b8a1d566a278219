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
