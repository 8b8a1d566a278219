"""Compiled kernels against plain numpy references and hand-worked cases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from models.engagement.newton import engagement_fits
from models.expectation import rescorla_wagner_units
from models.ordering import bucket_time_order, fingerprint_rows, group_rows, index_in, key_order


def test_rescorla_wagner_units_hand_worked() -> None:
    # α = 0.5 from v₀ = 0 over 1, 0, 1; the second unit (α = 1) copies each reward
    v_pre, delta, v_post = rescorla_wagner_units(
        np.array([1.0, 0.0, 1.0, 3.0, 5.0]),
        np.array([0, 3]),
        np.array([3, 2]),
        np.array([0.5, 1.0]),
        0.0,
    )
    np.testing.assert_array_equal(v_pre, [0.0, 0.5, 0.25, 0.0, 3.0])
    np.testing.assert_array_equal(delta, [1.0, -0.5, 0.75, 3.0, 2.0])
    np.testing.assert_array_equal(v_post, [0.5, 0.25, 0.625, 3.0, 5.0])


def _index_reference(keys: NDArray[np.int64], queries: NDArray[np.int64]) -> NDArray[np.int64]:
    order = np.argsort(keys)
    position = np.minimum(np.searchsorted(keys[order], queries), len(keys) - 1)
    return np.where(keys[order][position] == queries, order[position], -1)


@pytest.mark.parametrize("m", [1, 2, 7, 1000, 65_537])
def test_index_in_matches_a_sorted_search(m: int) -> None:
    rng = np.random.default_rng(m)
    keys = rng.choice(np.iinfo(np.int64).max, m, replace=False) * rng.choice([-1, 1], m)
    keys = keys.astype(np.int64)
    queries = np.concatenate(
        [
            keys[rng.integers(0, m, 20_000)],
            rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, 500, dtype=np.int64),
            [np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0],
        ]
    ).astype(np.int64)
    np.testing.assert_array_equal(index_in(keys, queries), _index_reference(keys, queries))


def test_index_in_hand_worked_and_empty() -> None:
    keys = np.array([10, -3, 7], dtype=np.int64)
    got = index_in(keys, np.array([7, 7, 8, -3, 10], dtype=np.int64))
    np.testing.assert_array_equal(got, [2, 2, -1, 1, 0])
    empty = index_in(np.zeros(0, np.int64), np.array([1, 2], np.int64))
    np.testing.assert_array_equal(empty, [-1, -1])


def _fingerprint_reference(fields: list[NDArray[Any]]) -> NDArray[np.uint64]:
    # the vectorised form the reader used before the kernel: one numpy pass per step
    h = np.zeros(fields[0].shape[0], dtype=np.uint64)
    for field in fields:
        bits = field.view(np.uint64) if field.dtype.itemsize == 8 else field.astype(np.uint64)
        h ^= bits
        h *= np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(29)
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


def test_fingerprint_rows_matches_the_vectorised_form() -> None:
    rng = np.random.default_rng(11)
    n = 5000
    fields = [
        rng.integers(-(2**62), 2**62, n, dtype=np.int64),
        rng.integers(-3, 4, n).astype(np.int32),
        rng.integers(-128, 127, n).astype(np.int8),
        np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n)),
        np.full(n, -0.0),
    ]
    np.testing.assert_array_equal(fingerprint_rows(fields), _fingerprint_reference(fields))


def test_fingerprint_rows_depends_on_every_field_and_their_order() -> None:
    a = np.array([1, 2], dtype=np.int64)
    b = np.array([2, 1], dtype=np.int64)
    ab, ba = fingerprint_rows([a, b]), fingerprint_rows([b, a])
    assert ab[0] != ab[1]  # (1, 2) and (2, 1) differ
    np.testing.assert_array_equal(ab, ba[::-1])
    assert fingerprint_rows([a])[0] != fingerprint_rows([a, np.zeros(2, np.int64)])[0]


def test_bucket_time_order_hand_worked() -> None:
    # buckets of two keys: rows 0-3 in bucket 0, rows 4-5 in bucket 1; at t = 1 the key-0 row
    # (row 2) precedes the key-1 row (row 0) though it came later
    key = np.array([1, 0, 0, 1, 3, 2])
    t = np.array([1.0, 5.0, 1.0, 0.0, 2.0, 2.0])
    order = bucket_time_order(key, t, keys_per_bucket=2, keys=4)
    np.testing.assert_array_equal(order, [3, 2, 0, 1, 5, 4])


@pytest.mark.parametrize(
    ("buckets", "n", "resolution", "presorted"),
    [(1, 5_000, 0.0, False), (3, 20_000, 60.0, False), (300, 20_000, 0.0, False),
     (5_000, 20_000, 1.0, False), (40, 20_000, 0.0, True), (7, 1, 0.0, False)],
)  # fmt: skip
def test_bucket_time_order_is_the_lexicographic_order(
    buckets: int, n: int, resolution: float, presorted: bool
) -> None:
    # every path: one bucket merge-sorted whole, long and short buckets, buckets in order
    rng = np.random.default_rng(buckets)
    bucket = rng.integers(0, buckets, n)
    sub = rng.integers(0, 3, n)
    t = rng.uniform(0, 86_400, n)
    if resolution:
        t = np.floor(t / resolution) * resolution  # many ties: key, then position decide
    if presorted:
        t = np.sort(t)
    key = bucket * 3 + sub
    expected = np.lexsort((np.arange(n), sub, t, bucket))
    order = bucket_time_order(key, t, keys_per_bucket=3, keys=3 * buckets)
    np.testing.assert_array_equal(order, expected)


@pytest.mark.parametrize("n", [0, 1, 2, 31, 1000, 200_000])
def test_key_order_is_the_stable_argsort(n: int) -> None:
    rng = np.random.default_rng(n)
    spread = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    # and keys that crowd few buckets: many equal keys, small keys (all in bucket 0)
    repeated = np.repeat(spread[: max(n // 50, 1)], 50)[:n]
    small = rng.integers(0, 100, n).astype(np.uint64)
    for keys in (spread, repeated, small):
        np.testing.assert_array_equal(key_order(keys), np.argsort(keys, kind="stable"))


def test_group_rows_is_a_stable_regrouping() -> None:
    rng = np.random.default_rng(7)
    key = rng.integers(0, 40, 5_000)
    rows = rng.permutation(5_000)[:3_000]  # some rows, in some order
    expected = rows[np.argsort(key[rows], kind="stable")]
    np.testing.assert_array_equal(group_rows(key, rows, 40), expected)
    np.testing.assert_array_equal(
        group_rows(np.array([2, 0, 1]), np.array([0, 1, 2]), 3), [1, 2, 0]
    )


def _engagement_case(seed: int, n: int) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    # net rewards of varying stakes; continuing almost exactly after disappointments
    rng = np.random.default_rng(seed)
    reward = rng.lognormal(0.0, 0.7, n) * rng.choice([-1.0, 0.0, 1.0, 4.0], n)
    continued = np.diff(np.concatenate([[0.0], reward])) < 0.0
    continued ^= rng.random(n) < 0.02
    return reward, continued


def _null_objective(continued: NDArray[np.bool_]) -> float:
    c = float(continued.sum())
    s = continued.shape[0] - c
    b0 = np.log(c / s)
    return float(c * np.log(c / (c + s)) + s * np.log(s / (c + s)) - 0.5e-6 * b0 * b0)


@pytest.mark.parametrize("ridge", [0.01, 1e-9])
def test_engagement_fits_never_end_below_the_null_from_any_start(ridge: float) -> None:
    # from wild starts, on nearly separable units (a vanishing ridge: a nearly singular
    # Hessian), every fit converges to at least the null's value and to the same maximum as
    # the fit started at the null
    alphas = np.array([[0.05, 0.3, 0.9]] * 3)
    rewards, continues = zip(*(_engagement_case(seed, 300) for seed in range(3)), strict=True)
    reward, continued = np.concatenate(rewards), np.concatenate(continues)
    observed = np.ones(900, dtype=np.bool_)
    start, length = np.array([0, 300, 600]), np.full(3, 300)
    wild = np.array([[40.0, -30.0, 25.0], [-60.0, 80.0, -90.0], [5.0, 0.0, 700.0]])
    null = np.zeros((3, 3))
    null[:, 0] = [np.log(c.mean() / (1.0 - c.mean())) for c in continues]
    results = [
        engagement_fits(
            reward,
            continued,
            observed,
            start,
            length,
            alphas,
            b,
            v0=0.0,
            ridge=ridge,
            iterations=200,
            tolerance=1e-10,
            exact=True,
            with_reduced=True,
        )
        for b in (wild, null)
    ]
    for objective, reduced, _, loglik, _, converged in results:
        assert converged.all()
        floor = np.array([_null_objective(c) for c in continues])
        assert (objective >= floor - 1e-9).all()
        assert (reduced >= floor - 1e-9).all()
        assert np.isfinite(loglik).all()
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=0, atol=1e-6)
