"""Expectation models against hand-worked sequences and plain-loop references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import lfilter

from models.expectation import (
    filter_rows,
    linear_recurrence,
    opponent,
    rescorla_wagner,
    td0_chain,
    td0_tabular,
)
from models.segments import RowLayout, Segments


def test_rescorla_wagner_hand_worked_with_reset() -> None:
    # unit 1: r = 1, 0, 1 with α = 0.5: V = 0, .5, .25 → δ = 1, −.5, .75; unit 2 restarts at v₀
    seg = Segments.from_lengths(np.array([3, 2]))
    r = np.array([1.0, 0.0, 1.0, 1.0, 1.0])
    for alpha in (0.5, np.array([0.5, 0.5])):
        e = rescorla_wagner(r, seg, alpha)
        np.testing.assert_allclose(e.v_pre, [0.0, 0.5, 0.25, 0.0, 0.5])
        np.testing.assert_allclose(e.delta, [1.0, -0.5, 0.75, 1.0, 0.5])
        np.testing.assert_allclose(e.v_post, [0.5, 0.25, 0.625, 0.5, 0.75])


def _rw_loop(r: np.ndarray, lengths: np.ndarray, alphas: np.ndarray, v0: float) -> np.ndarray:
    out = np.empty_like(r)
    i = 0
    for length, a in zip(lengths, alphas, strict=True):
        v = v0
        for _ in range(length):
            v = v + a * (r[i] - v)
            out[i] = v
            i += 1
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rescorla_wagner_matches_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 400, 50)
    seg = Segments.from_lengths(lengths)
    r = rng.normal(size=seg.rows) * 3
    alphas = rng.uniform(0.01, 1.0, seg.count)
    v0 = 0.7
    expected = _rw_loop(r, lengths, alphas, v0)
    np.testing.assert_allclose(rescorla_wagner(r, seg, alphas, v0=v0).v_post, expected, atol=1e-10)
    shared = _rw_loop(r, lengths, np.full(seg.count, 0.13), v0)
    np.testing.assert_allclose(rescorla_wagner(r, seg, 0.13, v0=v0).v_post, shared, atol=1e-10)


def test_linear_recurrence_matches_loop() -> None:
    rng = np.random.default_rng(3)
    a = rng.uniform(-1.0, 1.0, 1000)
    a[rng.random(1000) < 0.01] = 0.0
    x = rng.normal(size=1000)
    y = np.empty(1000)
    prev = 0.0
    for i in range(1000):
        prev = a[i] * prev + x[i]
        y[i] = prev
    np.testing.assert_allclose(linear_recurrence(a, x), y, atol=1e-12)


def test_td0_chain_hand_worked() -> None:
    # r = 1, 1; the session continues after the first response only; α = .5, γ = .9, v₀ = 0
    # δ₁ = 1 + .9·V₁ − V₁ = 1, V₂ = .5; δ₂ = 1 + .9·0 − .5 = .5 (session ends), V₃ = .75
    seg = Segments.from_lengths(np.array([2]))
    e = td0_chain(np.array([1.0, 1.0]), np.array([True, False]), seg, 0.5, 0.9)
    np.testing.assert_allclose(e.delta, [1.0, 0.5])
    np.testing.assert_allclose(e.v_post, [0.5, 0.75])


def test_td0_chain_with_gamma_zero_is_rescorla_wagner() -> None:
    rng = np.random.default_rng(4)
    seg = Segments.from_lengths(rng.integers(1, 50, 20))
    r = rng.random(seg.rows)
    c = rng.random(seg.rows) < 0.7
    np.testing.assert_allclose(
        td0_chain(r, c, seg, 0.2, 0.0).delta, rescorla_wagner(r, seg, 0.2).delta, atol=1e-12
    )


def test_td0_tabular_is_the_seed_update() -> None:
    # the textbook TD(0) update applied transition by transition, one table per unit
    rng = np.random.default_rng(5)
    lengths = np.array([7, 3, 12])
    seg = Segments.from_lengths(lengths)
    s = rng.integers(0, 4, seg.rows)
    s2 = rng.integers(0, 4, seg.rows)
    r = rng.normal(size=seg.rows)
    term = rng.random(seg.rows) < 0.2
    delta, tables = td0_tabular(s, s2, r, term, seg, n_states=4, alpha=0.1, gamma=0.9)
    i = 0
    for u, length in enumerate(lengths):
        table = np.zeros(4)
        for _ in range(length):
            d = r[i] + 0.9 * (0.0 if term[i] else table[s2[i]]) - table[s[i]]
            table[s[i]] += 0.1 * d
            assert delta[i] == pytest.approx(d)
            i += 1
        np.testing.assert_allclose(tables[u], table)


def test_opponent_keeps_rewards_and_aversion_apart() -> None:
    seg = Segments.from_lengths(np.array([3]))
    gain = np.array([2.0, 0.0, 2.0])
    loss = np.array([0.0, 4.0, 0.0])
    e = opponent(gain, loss, seg, alpha_reward=0.5, alpha_aversion=0.25)
    np.testing.assert_allclose(e.reward.delta, [2.0, -1.0, 1.5])
    np.testing.assert_allclose(e.aversion.delta, [0.0, 4.0, -1.0])
    np.testing.assert_allclose(e.net_delta, [2.0, -5.0, 2.5])


@pytest.mark.parametrize("alpha", [0.3, "per unit"])
def test_a_units_values_do_not_depend_on_its_neighbours(alpha: float | str) -> None:
    # bit for bit: partitions of users must give the same results as one pass
    rng = np.random.default_rng(6)
    mine = rng.normal(size=37) * 5
    others = rng.normal(size=500) * 1e6
    alone = Segments.from_lengths(np.array([37]))
    among = Segments.from_lengths(np.array([250, 37, 250]))
    r = np.concatenate([others[:250], mine, others[250:]])
    a_alone = 0.3 if alpha == 0.3 else np.array([0.3])
    a_among = 0.3 if alpha == 0.3 else np.array([0.9, 0.3, 0.1])
    v_alone = rescorla_wagner(mine, alone, a_alone).v_post
    v_among = rescorla_wagner(r, among, a_among).v_post[250:287]
    np.testing.assert_array_equal(v_alone, v_among)


def test_column_steps_and_lfilter_give_the_same_bits() -> None:
    # rows up to NARROW_ROWS wide step along columns, wider ones call lfilter: same operations
    rng = np.random.default_rng(8)
    lengths = rng.integers(1, 700, 300)
    seg = Segments.from_lengths(lengths)
    r = rng.normal(size=seg.rows) * 3
    layout = RowLayout.of(seg)
    padded = layout.pad(r)
    for alpha, v0 in ((0.1, 0.0), (0.37, 0.7)):
        got = filter_rows(padded, layout, alpha, v0=v0)
        want = np.empty_like(padded)
        for start, count, width in layout.blocks:
            block = padded[start : start + count * width].reshape(count, width)
            zi = np.full((count, 1), (1.0 - alpha) * v0)
            y, _ = lfilter([alpha], [1.0, -(1.0 - alpha)], block, axis=1, zi=zi)
            want[start : start + count * width] = y.ravel()
        np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))


def test_compiled_kernel_gives_filter_rows_bits() -> None:
    # the fits filter padded rows at many α while rescorla_wagner runs the compiled kernel:
    # the expectation of a fitted α must be the same bits either way
    rng = np.random.default_rng(9)
    seg = Segments.from_lengths(rng.integers(1, 700, 300))
    r = rng.normal(size=seg.rows) * 3
    layout = RowLayout.of(seg)
    for alpha, v0 in ((0.1, 0.0), (0.37, 0.7), (1.0, 0.2)):
        rows = layout.unpad(filter_rows(layout.pad(r), layout, alpha, v0=v0))
        shared = rescorla_wagner(r, seg, alpha, v0=v0)
        per_unit = rescorla_wagner(r, seg, np.full(seg.count, alpha), v0=v0)
        np.testing.assert_array_equal(shared.v_post.view(np.int64), rows.view(np.int64))
        np.testing.assert_array_equal(per_unit.v_post.view(np.int64), rows.view(np.int64))
        np.testing.assert_array_equal(shared.v_pre[seg.start], np.full(seg.count, v0))
        np.testing.assert_array_equal(shared.delta, r - shared.v_pre)
