"""One-sided tests of two harm markers per unit: whether a user raises the stake after losses
(loss chasing) and whether a user's sessions fall at night more often than chance."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import binom
from scipy.stats import t as student_t

from models.segments import Segments


@dataclass(frozen=True, slots=True)
class OneSidedTest:
    """Per unit (u,): an effect, the one-sided p-value of "effect > 0", and whether the unit
    had the data to be tested at all (untested units have NaN effect and p)."""

    effect: NDArray[np.float64]
    p_value: NDArray[np.float64]
    tested: NDArray[np.bool_]


def stake_chasing(
    cost: NDArray[np.float64],
    net: NDArray[np.float64],
    continued: NDArray[np.bool_],
    censored: NDArray[np.bool_],
    segments: Segments,
    min_each: int,
) -> OneSidedTest:
    """(u,) loss chasing by stake: does the user raise the stake after a loss more than after
    a win *at the same stake*, within the same session?

    Over paid responses t followed by another paid response of the same session, with
    x = log(cost₍ₜ₊₁₎ / costₜ), compared within strata of the current stake costₜ: in each of
    the user's stake levels s with both outcomes, dₛ = mean x after losses (net outcome < 0) −
    mean x after wins (net > 0); effect = Σ wₛdₛ / Σ wₛ with wₛ = n_loss·n_win / (n_loss +
    n_win), the least-squares loss coefficient with stake-level fixed effects. Its variance is
    Σ wₛ²(v_loss/n_loss,ₛ + v_win/n_win,ₛ) / (Σ wₛ)², each outcome's variance v pooled over the
    stake levels, tested one-sided by Student's t with Welch–Satterthwaite degrees of freedom
    (Welch 1947; with one stake level it is Welch's test): a stake changed once after a loss and
    never after a win is no evidence, however many unchanged responses surround it. Needs
    `min_each` losses and wins in strata with both. Comparing like with like matters: when
    the odds depend on the stake (a "max bet" that qualifies for the jackpot, a ten-pull at
    ten times the price), losses come more often at one stake, and a user who picks stakes at
    random then returns towards their usual stake more often after a loss — a raise that is no
    reaction to the loss. Chasing as raising the stake to win back what was lost is the
    behaviour gamblers report (Lesieur 1984); a user who merely stops after wins (quitting
    while ahead) does not change the stake, so this test does not fire on them.
    """
    n = segments.rows
    u = segments.count
    nxt = np.zeros(n, dtype=bool)
    x = np.zeros(n)
    if n > 1:
        nxt[:-1] = continued[:-1] & ~censored[:-1] & (cost[:-1] > 0) & (cost[1:] > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            x[:-1] = np.where(nxt[:-1], np.log(cost[1:] / np.where(nxt[:-1], cost[:-1], 1.0)), 0)
    loss = nxt & (net < 0)
    win = nxt & (net > 0)
    rows = np.flatnonzero(loss | win)
    nan = np.full(u, np.nan)
    if rows.size == 0:
        return OneSidedTest(effect=nan, p_value=nan.copy(), tested=np.zeros(u, dtype=bool))
    # strata: (unit, current stake), numbered in (unit, stake) order
    unit = segments.index[rows]
    _, stratum = np.unique(
        np.stack([unit.astype(np.float64), cost[rows]]), axis=1, return_inverse=True
    )
    stratum = stratum.ravel()
    k = int(stratum.max()) + 1
    stratum_unit = np.zeros(k, dtype=np.int64)
    stratum_unit[stratum] = unit
    xr, lr = x[rows], loss[rows]

    def sums(mask: NDArray[np.bool_]) -> tuple[NDArray[np.float64], ...]:
        w = mask.astype(np.float64)
        return tuple(
            np.bincount(stratum, weights=v, minlength=k).astype(np.float64)
            for v in (w, xr * w, xr * xr * w)
        )

    n1, s1, q1 = sums(lr)
    n0, s0, q0 = sums(~lr)
    both = (n1 > 0) & (n0 > 0)
    one = both.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        m1 = np.where(both, s1 / n1, 0.0)
        m0 = np.where(both, s0 / n0, 0.0)
        weight = np.where(both, n1 * n0 / (n1 + n0), 0.0)
        ss1 = np.where(both, np.maximum(q1 - n1 * m1 * m1, 0.0), 0.0)
        ss0 = np.where(both, np.maximum(q0 - n0 * m0 * m0, 0.0), 0.0)
        inv1 = np.where(both, weight * weight / n1, 0.0)
        inv0 = np.where(both, weight * weight / n0, 0.0)

    def per_unit(values: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.bincount(stratum_unit, weights=values, minlength=u).astype(np.float64)

    w_sum = per_unit(weight)
    strata = per_unit(one)
    losses, wins = per_unit(np.where(both, n1, 0.0)), per_unit(np.where(both, n0, 0.0))
    df1, df0 = losses - strata, wins - strata
    tested = (losses >= min_each) & (wins >= min_each) & (df1 >= 1.0) & (df0 >= 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        effect = per_unit(weight * (m1 - m0)) / w_sum
        # each outcome's variance pooled over the stake levels, then Welch's combination
        a1 = per_unit(ss1) / df1 * per_unit(inv1) / (w_sum * w_sum)
        a0 = per_unit(ss0) / df0 * per_unit(inv0) / (w_sum * w_sum)
        se = np.sqrt(a1 + a0)
        df = (a1 + a0) ** 2 / (a1 * a1 / df1 + a0 * a0 / df0)
        t = effect / se
    # a within-stake difference below rounding of the log stake ratios is no difference
    flat = ~(se > 1e-12)
    p = np.where(
        flat,
        np.where(effect > 1e-12, 0.0, 1.0),
        student_t.sf(np.where(flat, 0.0, t), np.where(np.isfinite(df) & (df > 0), df, 1.0)),
    )
    return OneSidedTest(
        effect=np.where(tested, effect, np.nan),
        p_value=np.where(tested, p, np.nan),
        tested=np.asarray(tested, dtype=bool),
    )


def night_sessions_test(
    night_start: NDArray[np.bool_],
    known_start: NDArray[np.bool_],
    sessions: Segments,
    units: Segments,
    min_sessions: int,
    baseline: float,
) -> OneSidedTest:
    """(u,) night play by session: the share of a user's sessions (of known local time) that
    start at night, tested one-sided against `baseline` (the night's share of the day: hours
    spread evenly) with the exact binomial test; sessions, not responses, are the trials, since
    responses within a session are not independent. effect = share − baseline."""
    unit = units.index[sessions.start]
    k = np.bincount(
        unit,
        weights=night_start[sessions.start] & known_start[sessions.start],
        minlength=units.count,
    )
    m = np.bincount(unit, weights=known_start[sessions.start], minlength=units.count)
    tested = m >= min_sessions
    p = binom.sf(k - 1, np.maximum(m, 1).astype(np.int64), baseline)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = k / m
    return OneSidedTest(
        effect=np.where(tested, share - baseline, np.nan),
        p_value=np.where(tested, p, np.nan),
        tested=np.asarray(tested, dtype=bool),
    )
