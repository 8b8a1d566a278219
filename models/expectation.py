"""Reward expectations and prediction errors, for many units at once.

Rescorla-Wagner (Rescorla & Wagner 1972; the TD(0) special case of Schultz, Dayan & Montague
1997 with one state and γ = 0), over each unit's responses t = 1..T in time order:

    V₁ = v₀,    δₜ = rₜ − Vₜ,    Vₜ₊₁ = Vₜ + α·δₜ

TD(0) with discount γ (Sutton & Barto 2018 §6.1):

    δₜ = rₜ + γ·V(sₜ₊₁) − V(sₜ),    V(sₜ) ← V(sₜ) + α·δₜ

and the opponent form (Daw, Kakade & Dayan 2002), with separate
expectations for rewards r⁺ = max(r, 0) and aversive outcomes r⁻ = max(−r, 0).

All recurrences are first-order linear filters in V. Rescorla-Wagner over many units runs as
one compiled pass over the concatenated units (`rescorla_wagner_units`). Where a caller already
holds its units as zero-padded rows of a few widths (the choice fit, which filters the same runs at
many α; the engagement fit does its filtering inside its own compiled pass), `filter_rows`
runs along the rows of each block of equal-width rows: for rows up to 256 wide, one vectorised
step per column for all rows at once; for wider rows, `scipy.signal.lfilter`
along each row. Recurrences whose coefficient changes row by row (TD(0) along a session) run a
log-depth parallel prefix scan over the concatenated units (`linear_recurrence`). Either way no
Python loop visits a unit, and each unit's values depend on its own rewards only, bit for bit —
so partitions of users give the same results as one pass.

numpy has no segmented filter, so the vectorised forms (`filter_rows` on a padded layout,
`linear_recurrence`'s doubling scan) take several passes over the data. Compiled with numba,
one pass over the concatenated units computes V before, the prediction error and V after each
response; it is the hot path of every per-user expectation. The loop evaluates exactly
fl(fl(α·r) + fl((1−α)·V)) per step, in each unit's own order and from each unit's own start,
with no fused multiply-add (numba compiles without fast-math), so a unit's values depend on its
own rewards only, bit for bit — partitions of users give the same results — and match
`filter_rows`'s numpy steps to the bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

from models.compiled import compiled
from models.segments import RowLayout, Segments


@compiled
def _rescorla_wagner_units(
    reward: NDArray[np.float64],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    alpha: NDArray[np.float64],
    v0: float,
    v_pre: NDArray[np.float64],
    delta: NDArray[np.float64],
    v_post: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled; covered through `rescorla_wagner_units`
    for k in range(start.shape[0]):
        a = alpha[k]
        keep = 1.0 - a
        v = v0
        for i in range(start[k], start[k] + length[k]):
            r = reward[i]
            v_pre[i] = v
            delta[i] = r - v
            v = a * r + keep * v
            v_post[i] = v


@compiled
def _rescorla_wagner_post(
    reward: NDArray[np.float64],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    alpha: NDArray[np.float64],
    v0: float,
    v_post: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled; covered through `rescorla_wagner_values`
    # the same steps as above, writing one array instead of three
    for k in range(start.shape[0]):
        a = alpha[k]
        keep = 1.0 - a
        v = v0
        for i in range(start[k], start[k] + length[k]):
            v = a * reward[i] + keep * v
            v_post[i] = v


def _arguments(
    reward: NDArray[np.float64],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    alpha: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    return (
        np.ascontiguousarray(reward, dtype=np.float64),
        np.ascontiguousarray(start, dtype=np.int64),
        np.ascontiguousarray(length, dtype=np.int64),
        np.ascontiguousarray(alpha, dtype=np.float64),
    )


def rescorla_wagner_units(
    reward: NDArray[np.float64],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    alpha: NDArray[np.float64],
    v0: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(v_pre, delta, v_post), each (n,), of Rescorla-Wagner run separately over each unit.

    reward: (n,) float64, units concatenated; start, length: (u,) int64, each unit's rows;
    alpha: (u,) float64, each unit's learning rate. Per unit, from V₁ = v₀:

        v_preₜ = Vₜ,    deltaₜ = rₜ − Vₜ,    v_postₜ = Vₜ₊₁ = α·rₜ + (1 − α)·Vₜ

    Rows outside every unit are left as they were allocated (np.empty): callers cover all rows.
    """
    args = _arguments(reward, start, length, alpha)
    n = args[0].shape[0]
    v_pre, delta, v_post = np.empty(n), np.empty(n), np.empty(n)
    _rescorla_wagner_units(*args, float(v0), v_pre, delta, v_post)
    return v_pre, delta, v_post


def rescorla_wagner_values(
    reward: NDArray[np.float64],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    alpha: NDArray[np.float64],
    v0: float,
) -> NDArray[np.float64]:
    """(n,) Vₜ₊₁ only, the expectation after each response (the same bits as v_post of
    `rescorla_wagner_units`): the recurrence alone, for callers that need nothing else."""
    args = _arguments(reward, start, length, alpha)
    v_post = np.empty(args[0].shape[0])
    _rescorla_wagner_post(*args, float(v0), v_post)
    return v_post


NARROW_ROWS = 256  # rows this short step along columns rather than call lfilter per row


@dataclass(frozen=True, slots=True)
class Expectation:
    """Per-row expectations of a Rescorla-Wagner learner.

    v_pre:  (n,) Vₜ, the expectation held when response t is made
    delta:  (n,) δₜ = rₜ − Vₜ, the reward prediction error
    v_post: (n,) Vₜ₊₁ = Vₜ + α·δₜ, the expectation after learning from response t
    """

    v_pre: NDArray[np.float64]
    delta: NDArray[np.float64]
    v_post: NDArray[np.float64]


def linear_recurrence(a: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
    """y (n,) with yₜ = aₜ·yₜ₋₁ + xₜ and y₋₁ = 0, by a Hillis-Steele doubling scan.

    Affine maps compose associatively — (a₂, x₂)∘(a₁, x₁) = (a₂a₁, a₂x₁ + x₂) — so log₂(n)
    vectorised passes suffice (Blelloch 1990, "Prefix sums and their applications"). Setting
    aₜ = 0 cuts the carry, which is how units are reset. The passes stop once every accumulated
    product is exactly zero (each window reaches a reset or underflows), so the depth is log₂ of
    the longest unit, and each unit's result is bit for bit independent of the other units.
    """
    acc = np.array(a, dtype=np.float64, copy=True)
    y = np.array(x, dtype=np.float64, copy=True)
    n = y.shape[0]
    shift = 1
    while shift < n:
        if not acc[shift:].any():
            break
        y[shift:] += acc[shift:] * y[:-shift]
        acc[shift:] = acc[shift:] * acc[:-shift]
        shift *= 2
    return y


def rescorla_wagner(
    reward: NDArray[np.float64],
    segments: Segments,
    alpha: float | NDArray[np.float64],
    *,
    v0: float = 0.0,
) -> Expectation:
    """Rescorla-Wagner expectations for every unit (one segment each) at once.

    reward:   (n,) rₜ, concatenated units in time order
    segments: the units
    alpha:    learning rate, one float for all units, or (u,) one per unit, in [0, 1]

    One compiled pass over the units (`rescorla_wagner_units`), computing
    fl(fl(α·r) + fl((1−α)·V)) per step as `filter_rows` does: a unit's values depend on its
    own rewards only, bit for bit, so partitions of users give the same results.
    """
    alpha_units = (
        np.full(segments.count, float(alpha))
        if np.ndim(alpha) == 0
        else np.asarray(alpha, dtype=np.float64)
    )
    v_pre, delta, v_post = rescorla_wagner_units(
        np.asarray(reward, dtype=np.float64), segments.start, segments.length, alpha_units, v0
    )
    return Expectation(v_pre=v_pre, delta=delta, v_post=v_post)


def filter_rows(
    reward_padded: NDArray[np.float64], layout: RowLayout, alpha: float, *, v0: float = 0.0
) -> NDArray[np.float64]:
    """Vₜ₊₁ of Rescorla-Wagner for every unit, on rewards in `layout`'s padded order.

    Per block of equal-width rows, every row starting from V₁ = v₀ (initial state (1−α)·v₀):
    rows up to NARROW_ROWS wide step along the columns, all rows at once (lfilter's per-row
    overhead dominates short rows: 2.5× faster over a benchmark's 7M responses); wider rows
    take one `lfilter([α], [1, −(1−α)])` call along the rows. Both compute
    fl(fl(α·x) + fl((1−α)·V)), so the results are the same bits, and no unit's state ever
    reaches another (padding comes after each unit, so it cannot affect it).
    """
    out = np.empty_like(reward_padded)
    a = 1.0 - alpha
    for start, count, width in layout.blocks:
        block = reward_padded[start : start + count * width].reshape(count, width)
        if alpha >= 1.0:
            out[start : start + count * width] = block.ravel()
        elif width <= NARROW_ROWS:
            # short rows: step along the columns, all rows at once — the same operations as
            # lfilter's, fl(fl(α·x) + fl((1−α)·V)), without its per-row overhead
            y = out[start : start + count * width].reshape(count, width)
            np.multiply(block, alpha, out=y)
            y[:, 0] += a * v0
            for j in range(1, width):
                y[:, j] += a * y[:, j - 1]
        else:
            zi = np.full((count, 1), a * v0)
            y, _ = lfilter([alpha], [1.0, -a], block, axis=1, zi=zi)
            out[start : start + count * width] = np.asarray(y, dtype=np.float64).ravel()
    return out


def _shift_within(
    v_post: NDArray[np.float64], segments: Segments, v0: float
) -> NDArray[np.float64]:
    v_pre = np.empty_like(v_post)
    if v_post.shape[0]:
        v_pre[1:] = v_post[:-1]
        v_pre[segments.first] = v0
    return v_pre


def td0_chain(
    reward: NDArray[np.float64],
    continued: NDArray[np.bool_],
    segments: Segments,
    alpha: float | NDArray[np.float64],
    gamma: float,
    *,
    v0: float = 0.0,
) -> Expectation:
    """TD(0) along a session: the next response of the same session is the successor state.

    With one cue per mechanic, V(sₜ₊₁) = Vₜ while the session continues and 0 at its end, so

        δₜ = rₜ + γ·cₜ·Vₜ − Vₜ,    Vₜ₊₁ = (1 − α(1 − γ·cₜ))·Vₜ + α·rₜ

    (cₜ = 1 if the session continued after t). V then estimates the discounted reward still
    to come in the session. γ = 0 is Rescorla-Wagner.

    reward, continued: (n,); alpha: float or (u,); returns per-row expectations.
    """
    r = np.asarray(reward, dtype=np.float64)
    alpha_rows = (
        np.full(r.shape[0], float(alpha))
        if np.ndim(alpha) == 0
        else segments.broadcast(np.asarray(alpha, dtype=np.float64))
    )
    a = 1.0 - alpha_rows * (1.0 - gamma * continued.astype(np.float64))
    first = segments.first
    # the first row starts from v₀: V₂ = a₁·v₀ + α·r₁
    x = alpha_rows * r + np.where(first, a * v0, 0.0)
    v_post = linear_recurrence(np.where(first, 0.0, a), x)
    v_pre = _shift_within(v_post, segments, v0)
    delta = r + (gamma * continued - 1.0) * v_pre
    return Expectation(v_pre=v_pre, delta=delta, v_post=v_post)


def td0_tabular(
    state: NDArray[np.int64],
    next_state: NDArray[np.int64],
    reward: NDArray[np.float64],
    terminal: NDArray[np.bool_],
    segments: Segments,
    *,
    n_states: int,
    alpha: float,
    gamma: float,
    v0: float = 0.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Tabular TD(0) with one value table per unit, the textbook's tabular update loop.

    state, next_state: (n,) state indices in [0, n_states); terminal: (n,) V(s') taken as 0.
    Returns (delta (n,), V (u, n_states) final tables).

    Bootstrapping couples the states, so this is not a linear filter; it steps through
    positions 0..max(length)−1, vectorised across units. It serves small analyses and tests,
    not the per-user hot path (which uses `rescorla_wagner`).
    """
    values = np.full((segments.count, n_states), v0, dtype=np.float64)
    delta = np.zeros(segments.rows, dtype=np.float64)
    longest = int(segments.length.max()) if segments.count else 0
    for j in range(longest):
        alive = np.flatnonzero(segments.length > j)
        rows = segments.start[alive] + j
        s = state[rows]
        s_next = next_state[rows]
        bootstrap = np.where(terminal[rows], 0.0, values[alive, s_next])
        d = reward[rows] + gamma * bootstrap - values[alive, s]
        values[alive, s] += alpha * d
        delta[rows] = d
    return delta, values


@dataclass(frozen=True, slots=True)
class OpponentExpectation:
    """Separate expectations for rewards and for aversive outcomes (n,) each.

    reward: Rescorla-Wagner on r⁺ = max(r, 0); aversion: on r⁻ = max(−r, 0).
    The net prediction error is reward.delta − aversion.delta.
    """

    reward: Expectation
    aversion: Expectation

    @property
    def net_delta(self) -> NDArray[np.float64]:
        return self.reward.delta - self.aversion.delta


def opponent(
    gain: NDArray[np.float64],
    loss: NDArray[np.float64],
    segments: Segments,
    *,
    alpha_reward: float | NDArray[np.float64],
    alpha_aversion: float | NDArray[np.float64],
) -> OpponentExpectation:
    """Opponent-process expectations: V⁺ learns gains, V⁻ learns losses (both ≥ 0).

    δ⁺ₜ = r⁺ₜ − V⁺ₜ, V⁺ₜ₊₁ = V⁺ₜ + α⁺δ⁺ₜ;  δ⁻ₜ = r⁻ₜ − V⁻ₜ, V⁻ₜ₊₁ = V⁻ₜ + α⁻δ⁻ₜ
    (Solomon & Corbit 1974; Daw, Kakade & Dayan 2002).
    gain, loss: (n,) non-negative magnitudes.
    """
    return OpponentExpectation(
        reward=rescorla_wagner(gain, segments, alpha_reward),
        aversion=rescorla_wagner(loss, segments, alpha_aversion),
    )
