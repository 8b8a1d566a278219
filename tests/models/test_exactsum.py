"""Exact sums: correctly rounded, and the same however the values are split or ordered."""

from __future__ import annotations

import math

import numpy as np

from models.exactsum import ExactSums


def test_sums_are_correctly_rounded() -> None:
    # 0.1 + 0.2 − 0.3 is 2⁻⁵⁵ exactly (5.55e-17 by naive summation)
    s = ExactSums.of(np.zeros(3, dtype=np.int64), np.array([0.1, 0.2, -0.3]), 1)
    assert s.values()[0] == 2.0**-55
    rng = np.random.default_rng(0)
    w = rng.normal(size=20_000) * np.exp(rng.normal(size=20_000) * 8)
    idx = rng.integers(0, 4, 20_000)
    expected = [math.fsum(w[idx == b]) for b in range(4)]
    np.testing.assert_array_equal(ExactSums.of(idx, w, 4).values(), expected)


def test_split_and_order_do_not_matter() -> None:
    rng = np.random.default_rng(1)
    w = rng.normal(size=10_000) * 1e3
    idx = rng.integers(0, 3, 10_000)
    whole = ExactSums.of(idx, w, 3).values()
    perm = rng.permutation(10_000)
    parts = [ExactSums.of(idx[p], w[p], 3) for p in np.array_split(perm, 7)]
    np.testing.assert_array_equal(ExactSums.merge(parts).values(), whole)
    assert ExactSums.merge(parts[::-1]).cells == ExactSums.merge(parts).cells


def test_empty_and_zero_bins() -> None:
    s = ExactSums.of(np.array([1, 1]), np.array([0.0, 0.0]), 3)
    np.testing.assert_array_equal(s.values(), [0.0, 0.0, 0.0])
