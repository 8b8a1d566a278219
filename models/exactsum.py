"""Exact, order-independent sums of floats by bin.

Floating-point addition is not associative, so a sum over the users of one partition and then
over partitions differs in its last bits from the same sum taken in one pass — and a report
whose digest is hashed must not depend on how users were partitioned. Every float
w = m·2ᵉ (frexp) is an integer mantissa M = m·2⁵³ times 2^(e−53); summing the integer
mantissas per (bin, exponent) is exact (in three 18-bit chunks, each exactly summable by
`np.bincount` in float64 for up to 2³⁵ values), partial sums merge by integer addition, and
the total is rounded to float once, correctly (Python's Fraction → float).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

_CHUNK = 18
_MASK = (1 << _CHUNK) - 1


@dataclass(frozen=True, slots=True)
class ExactSums:
    """Exact sums of floats in `bins` bins: {(bin, exponent): Σ integer mantissas}."""

    bins: int
    cells: dict[tuple[int, int], int]

    @classmethod
    def of(cls, index: NDArray[np.int64], weights: NDArray[np.float64], bins: int) -> ExactSums:
        """Sums of the finite `weights` (n,) falling in each bin `index` (n,) in [0, bins)."""
        w = np.asarray(weights, dtype=np.float64)
        keep = w != 0.0
        if not keep.any():
            return cls(bins=bins, cells={})
        w, idx = w[keep], np.asarray(index, dtype=np.int64)[keep]
        mantissa, exponent = np.frexp(w)
        m = (mantissa * float(1 << 53)).astype(np.int64)  # exact: 53 significant bits
        e_min = int(exponent.min())
        span = int(exponent.max()) - e_min + 1
        key = idx * span + (exponent - e_min)
        size = bins * span
        sign = np.sign(m)
        a = np.abs(m)
        parts = [
            np.bincount(
                key, weights=(sign * ((a >> shift) & _MASK)).astype(np.float64), minlength=size
            )
            for shift in (0, _CHUNK, 2 * _CHUNK)
        ]
        cells: dict[tuple[int, int], int] = {}
        nonzero = (parts[0] != 0) | (parts[1] != 0) | (parts[2] != 0)
        for k in np.flatnonzero(nonzero).tolist():
            total = (
                int(parts[0][k]) + (int(parts[1][k]) << _CHUNK) + (int(parts[2][k]) << (2 * _CHUNK))
            )
            if total:
                cells[(k // span, k % span + e_min - 53)] = total
        return cls(bins=bins, cells=cells)

    @classmethod
    def merge(cls, parts: Iterable[ExactSums]) -> ExactSums:
        parts = list(parts)
        cells: dict[tuple[int, int], int] = {}
        for p in parts:
            for key, value in p.cells.items():
                cells[key] = cells.get(key, 0) + value
        return cls(
            bins=max((p.bins for p in parts), default=0),
            cells={k: v for k, v in cells.items() if v},
        )

    def exact(self) -> list[Fraction]:
        """The sum of each bin as an exact fraction."""
        out = [Fraction(0)] * self.bins
        for (b, e), value in self.cells.items():
            out[b] += Fraction(value) * (Fraction(2) ** e)
        return out

    def values(self) -> NDArray[np.float64]:
        """(bins,) the sums, each correctly rounded to float64."""
        return np.array([float(v) for v in self.exact()], dtype=np.float64)
