"""Concentration of spend across users.

- gini, top_share, lorenz: concentration of spend across users (Gini 1912; Lorenz 1905).

"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def gini(x: NDArray[np.float64]) -> float:
    """Gini coefficient of non-negative values: G = Σᵢ (2i − n − 1)·x₍ᵢ₎ / (n·Σx), x sorted
    ascending, i = 1..n (0: all equal; (n−1)/n: one holds everything). NaN if Σx = 0."""
    v = np.sort(np.asarray(x, dtype=np.float64))
    n = v.shape[0]
    total = float(v.sum())
    if n == 0 or total <= 0.0:
        return float("nan")
    i = np.arange(1, n + 1, dtype=np.float64)
    return float(((2.0 * i - n - 1.0) * v).sum() / (n * total))


def lorenz(
    x: NDArray[np.float64], points: int = 101
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The Lorenz curve at `points` evenly spaced population shares: (share of users from the
    lowest, share of the total they hold), linear between users."""
    v = np.sort(np.asarray(x, dtype=np.float64))
    pop = np.linspace(0.0, 1.0, points)
    total = float(v.sum())
    if v.shape[0] == 0 or total <= 0.0:
        return pop, np.full(points, np.nan)
    cum = np.concatenate([[0.0], np.cumsum(v) / total])
    grid = np.linspace(0.0, 1.0, v.shape[0] + 1)
    return pop, np.interp(pop, grid, cum)


def top_share(x: NDArray[np.float64], fraction: float) -> float:
    """Share of the total held by the top `fraction` of users: 1 − L(1 − fraction) on the
    piecewise-linear Lorenz curve (so a fraction smaller than one user takes part of one)."""
    v = np.sort(np.asarray(x, dtype=np.float64))
    total = float(v.sum())
    if v.shape[0] == 0 or total <= 0.0:
        return float("nan")
    cum = np.concatenate([[0.0], np.cumsum(v) / total])
    grid = np.linspace(0.0, 1.0, v.shape[0] + 1)
    return float(1.0 - np.interp(1.0 - fraction, grid, cum))
