"""Markers of harm and of reward-prediction-error exposure, per user.

Every marker is computed per unit (one user on one mechanic) from flat arrays in one
vectorised pass; mechanic summaries (medians, shares, Gini) are taken over the units at merge
time. Regulators ask gambling operators to watch the same kinds of behaviour (UK Gambling
Commission 2023 customer interaction guidance: spend, patterns of spend, time spent gambling,
gambling behaviour indicators); the thresholds applied to these markers (models/risk.py,
models/rules.py) are chosen by us, not taken from that guidance or from published studies.

- rpe_persistence: mean |δ| over the last third of a user's responses divided by the first
  third. δ comes from a cue-conditional Rescorla-Wagner learner (one expectation per state:
  responses since the last win for ratio schedules, log time since the last win for interval
  schedules), so a learnable schedule drives late |δ| to 0 while a variable one keeps it at
  its floor 2p(1 − p), the mean |δ| of a Bernoulli(p) outcome against V = p. (A fully
  predicted reward evokes no prediction error, Schultz, Dayan & Montague 1997; a probabilistic
  one keeps evoking one, Fiorillo, Tobler & Schultz 2003.)
- rpe_balance: Σδ / Σ|δ| over the last half: −1 when every outcome disappoints (rewards falling
  faster than expectations adapt), ≈ 0 when the schedule is stationary. A property of the
  rewards, not a clinical marker: Huys et al. 2013 find that anhedonia lowers reward
  sensitivity rather than learning rate, which this ratio does not measure.
- night_share: share of responses between night_start and night_end o'clock in the user's zone,
  over the responses whose local time is known (`models.localtime`); NaN (not assessable)
  where too few are.
- session_escalation / frequency_escalation: least-squares change of log session length / of
  −log time between session starts from a user's first session to the last (tolerance:
  sessions that grow and come closer together; our operationalisation — Braverman & Shaffer
  2012 report increasing wager size, not session length, in a high-risk group).
- post_reward_pause: exp(mean log(IRT + 1 s) after wins − after other responses) (the
  post-reinforcement pause of fixed schedules; Ferster & Skinner 1957).
- front_loading: (early − late) / (early + late) mean payout per response, first vs last third:
  > 0 when rewards fall with tenure.
- option_concentration: share of a user's choices that went to their most chosen option.
- aversive_expectation: the aversion V⁻ a user has learned to expect (opponent form), mean
  over the last half: streak losses users anticipate may keep them coming back to avoid them
  (our hypothesis, after the opponent process of Solomon & Corbit 1974).
- gini, top_share, lorenz: concentration of spend across users (Gini 1912; Lorenz 1905).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import binom
from scipy.stats import t as student_t

from models.expectation import opponent, rescorla_wagner
from models.segments import Segments, previous_index, stable_argsort

COUNT_STATES = 64  # responses since the last win, 1..64, then one state for "longer"
TIME_STATES_PER_DECADE = 2  # log-time states of the interval learner


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


def is_night(
    t: NDArray[np.float64], utc_offset_s: NDArray[np.int32], start_hour: float, end_hour: float
) -> NDArray[np.bool_]:
    """(n,) the local clock (UTC + offset) reads within [start_hour, end_hour)."""
    hour = np.mod(t + utc_offset_s, 86400.0) / 3600.0
    if start_hour <= end_hour:
        return np.asarray((hour >= start_hour) & (hour < end_hour), dtype=bool)
    return np.asarray((hour >= start_hour) | (hour < end_hour), dtype=bool)


def count_since(mark: NDArray[np.bool_], segments: Segments) -> NDArray[np.int64]:
    """(n,) responses since the last marked row before this one (1 right after it), counting
    from the segment's start when there is none."""
    n = segments.rows
    start = segments.first.copy()
    if n > 1:
        start[1:] |= mark[:-1]
    first_of_run = np.maximum.accumulate(np.where(start, np.arange(n), 0)) if n else start
    return np.arange(n, dtype=np.int64) - first_of_run + 1


def state_rpe(
    reward: NDArray[np.float64], state: NDArray[np.int64], segments: Segments, alpha: float
) -> NDArray[np.float64]:
    """(n,) prediction errors of a learner with one Rescorla-Wagner expectation per state.

    Each (unit, state) pair learns along its own visits, so all pairs are one linear filter over
    the rows sorted by (unit, state, time) (γ = 0: no bootstrapping between states).
    """
    # rows are in (unit, time) order, so a stable sort by (unit, state) keeps time order
    unit_state = segments.index * (int(state.max()) + 1 if state.size else 1) + state
    order = stable_argsort(unit_state)
    key = unit_state[order]
    first = np.ones(order.shape[0], dtype=bool)
    first[1:] = key[1:] != key[:-1]
    sub = Segments.from_first_flags(first)
    # a per-unit α array selects the exact prefix scan: partitions of users give equal results
    delta_sorted = rescorla_wagner(reward[order], sub, np.full(sub.count, alpha)).delta
    delta = np.empty_like(delta_sorted)
    delta[order] = delta_sorted
    return delta


def count_state(win: NDArray[np.bool_], segments: Segments) -> NDArray[np.int64]:
    """(n,) the ratio learner's state: responses since the last win, capped at COUNT_STATES+1."""
    return np.minimum(count_since(win, segments), COUNT_STATES + 1)


def time_state(
    t: NDArray[np.float64], win: NDArray[np.bool_], segments: Segments
) -> NDArray[np.int64]:
    """(n,) the interval learner's state: log time since the last win (0: no win yet)."""
    prev = previous_index(win, segments)
    elapsed = np.where(prev >= 0, t - t[np.maximum(prev, 0)], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.floor(np.log10(np.maximum(elapsed, 0.1)) * TIME_STATES_PER_DECADE) + 3
    return np.where(prev >= 0, np.clip(level, 1, 40), 0).astype(np.int64)


def _third_masks(segments: Segments) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    length = segments.broadcast_int(segments.length)
    third = length // 3
    early = segments.position < third
    late = segments.position >= length - third
    return np.asarray(early, dtype=bool), np.asarray(late, dtype=bool)


def _ratio(num: NDArray[np.float64], den: NDArray[np.float64]) -> NDArray[np.float64]:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def rpe_persistence(
    delta: NDArray[np.float64], segments: Segments, min_responses: int
) -> NDArray[np.float64]:
    """(u,) mean |δ| over the last third of each unit's responses / over the first third."""
    early, late = _third_masks(segments)
    a = np.abs(delta)
    out = _ratio(
        segments.sum(a * late) / segments.length, segments.sum(a * early) / segments.length
    )
    return np.where(segments.length >= min_responses, out, np.nan)


def rpe_balance(
    delta: NDArray[np.float64], segments: Segments, min_responses: int
) -> NDArray[np.float64]:
    """(u,) Σδ / Σ|δ| over the last half of each unit's responses."""
    late = segments.position >= segments.broadcast_int(segments.length) // 2
    out = _ratio(segments.sum(delta * late), segments.sum(np.abs(delta) * late))
    return np.where(segments.length >= min_responses, out, np.nan)


def front_loading(
    gain: NDArray[np.float64], segments: Segments, min_responses: int
) -> NDArray[np.float64]:
    """(u,) (early − late)/(early + late) of mean payout per response, first vs last third."""
    early, late = _third_masks(segments)
    e = segments.sum(gain * early)
    lt = segments.sum(gain * late)
    out = _ratio(e - lt, e + lt)
    return np.where(segments.length >= min_responses, out, np.nan)


def night_share(
    night: NDArray[np.bool_],
    known: NDArray[np.bool_],
    segments: Segments,
    min_responses: int,
) -> NDArray[np.float64]:
    """(u,) share of each unit's responses of known local time made at night; NaN (not
    assessable) with fewer than min_responses of known local time."""
    n_known = segments.sum(known)
    share = _ratio(segments.sum(night & known), n_known)
    return np.where(n_known >= min_responses, share, np.nan)


def post_reward_pause(
    t: NDArray[np.float64], win: NDArray[np.bool_], segments: Segments, min_each: int = 3
) -> NDArray[np.float64]:
    """(u,) exp(mean log(IRT + 1 s) after wins − after non-wins); NaN with fewer than
    `min_each` intervals of either kind. The IRT after a response is the wait for the next."""
    n = segments.rows
    irt = np.full(n, np.nan)
    if n > 1:
        irt[:-1] = t[1:] - t[:-1]
    has_next = ~segments.last
    log_irt = np.log1p(np.where(has_next, irt, 0.0))
    after_win = has_next & win
    after_other = has_next & ~win
    n_w, n_o = segments.sum(after_win), segments.sum(after_other)
    diff = _ratio(segments.sum(log_irt * after_win), n_w) - _ratio(
        segments.sum(log_irt * after_other), n_o
    )
    with np.errstate(invalid="ignore"):
        return np.where((n_w >= min_each) & (n_o >= min_each), np.exp(diff), np.nan)


@dataclass(frozen=True, slots=True)
class SessionTrends:
    """Per unit (u,): sessions, and the fitted log change from first to last session of
    session length (`session_escalation`) and of session frequency (`frequency_escalation`),
    each with the one-sided p-value of its least-squares slope being > 0 (t-test on the
    residual variance; NaN where the trend is undefined)."""

    sessions: NDArray[np.int64]
    session_escalation: NDArray[np.float64]
    frequency_escalation: NDArray[np.float64]
    session_escalation_p: NDArray[np.float64]
    frequency_escalation_p: NDArray[np.float64]


def _ols_change(
    y: NDArray[np.float64], x: NDArray[np.float64], group: NDArray[np.int64], count: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per group, slope of y on x by least squares (x spans [0, 1]: the fitted total change),
    and the one-sided p-value of slope > 0 from its t statistic on w − 2 degrees of freedom.

    Sums are taken about each group's means (two passes), and a group whose y does not vary
    beyond rounding has slope 0 and p = 1: a user whose sessions are all alike is not
    escalating, however its rounding falls."""
    w = np.bincount(group, minlength=count).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mx = np.bincount(group, weights=x, minlength=count) / w
        my = np.bincount(group, weights=y, minlength=count) / w
        xc, yc = x - mx[group], y - my[group]
        cxx = np.bincount(group, weights=xc * xc, minlength=count)
        cxy = np.bincount(group, weights=xc * yc, minlength=count)
        cyy = np.bincount(group, weights=yc * yc, minlength=count)
        ok = cxx > 1e-12
        flat = cyy <= w * (1e-12 * np.maximum(np.abs(my), 1.0)) ** 2
        slope = np.where(ok, np.where(flat, 0.0, cxy / np.where(ok, cxx, 1.0)), np.nan)
        rss = np.maximum(cyy - slope * cxy, 0.0)
        df = w - 2.0
        se = np.sqrt(rss / df / cxx)
        t = slope / se
    tested = ok & (df > 0)
    p = np.where(
        tested & ~flat & (se > 0),
        student_t.sf(t, np.maximum(df, 1.0)),
        np.where(tested & ~flat & (slope > 0), 0.0, np.where(tested, 1.0, np.nan)),
    )
    return slope, p


def _group_starts(counts: NDArray[np.int64]) -> NDArray[np.int64]:
    """(g,) position of each group's first element when groups of `counts` are laid end to end."""
    out = np.zeros(counts.shape[0], dtype=np.int64)
    out[1:] = np.cumsum(counts)[:-1]
    return out


def session_trends(
    t: NDArray[np.float64],
    sessions: Segments,
    units: Segments,
    censored: NDArray[np.bool_],
    min_sessions: int,
) -> SessionTrends:
    """Session length and frequency trends per unit (sessions never span units).

    A unit's last session is left out when its end is censored (it may still be going on).
    """
    sess_unit = units.index[sessions.start]
    n_sess = np.bincount(sess_unit, minlength=units.count).astype(np.int64)
    sess_last_row = sessions.start + sessions.length - 1
    keep = ~censored[sess_last_row]
    kept_unit = sess_unit[keep]
    n_kept = np.bincount(kept_unit, minlength=units.count)
    # ordinal of each kept session within its unit, scaled to [0, 1]
    ordinal = np.arange(kept_unit.shape[0]) - _group_starts(n_kept)[kept_unit]
    span = np.maximum(n_kept[kept_unit] - 1, 1)
    x = ordinal / span
    length_change, length_p = _ols_change(
        np.log(sessions.length[keep].astype(np.float64)), x, kept_unit, units.count
    )
    # frequency: gaps between consecutive session starts of the same unit
    starts = t[sessions.start]
    same = np.zeros(sess_unit.shape[0], dtype=bool)
    same[1:] = sess_unit[1:] == sess_unit[:-1]
    gap = np.where(same, starts - np.roll(starts, 1), np.nan)
    g_ok = same & (gap > 0)
    g_unit = sess_unit[g_ok]
    n_gaps = np.bincount(g_unit, minlength=units.count)
    g_ord = np.arange(g_unit.shape[0]) - _group_starts(n_gaps)[g_unit]
    g_x = g_ord / np.maximum(n_gaps[g_unit] - 1, 1)
    # sessions coming closer together: the slope of −log gap
    freq_change, freq_p = _ols_change(-np.log(gap[g_ok]), g_x, g_unit, units.count)
    enough = n_kept >= min_sessions
    enough_gaps = n_gaps >= min_sessions - 1
    return SessionTrends(
        sessions=n_sess,
        session_escalation=np.where(enough, length_change, np.nan),
        frequency_escalation=np.where(enough_gaps, freq_change, np.nan),
        session_escalation_p=np.where(enough, length_p, np.nan),
        frequency_escalation_p=np.where(enough_gaps, freq_p, np.nan),
    )


def option_concentration(option: NDArray[np.int32], segments: Segments) -> NDArray[np.float64]:
    """(u,) share of each unit's option-carrying responses that chose its favourite option
    (NaN for units without options)."""
    has = option >= 0
    unit = segments.index[has]
    width = int(option.max()) + 1 if option.size else 1
    pairs, counts = np.unique(unit * width + option[has], return_counts=True)
    owner = pairs // width  # sorted, so each unit's pairs are contiguous
    top = np.zeros(segments.count)
    if owner.size:
        starts = np.flatnonzero(np.concatenate([[True], owner[1:] != owner[:-1]]))
        top[owner[starts]] = np.maximum.reduceat(counts, starts)
    total = np.bincount(unit, minlength=segments.count).astype(np.float64)
    return _ratio(top, total)


def aversive_expectation(
    gain: NDArray[np.float64],
    loss: NDArray[np.float64],
    segments: Segments,
    alpha: float,
    min_responses: int,
) -> NDArray[np.float64]:
    """(u,) mean V⁻ of the opponent learner over the last half of each unit's responses
    (V⁻ after learning from each response; gain and loss in the unit's reward scale)."""
    rates = np.full(segments.count, alpha)  # the exact per-unit scan, as in state_rpe
    learned = opponent(gain, loss, segments, alpha_reward=rates, alpha_aversion=rates)
    late = segments.position >= segments.broadcast_int(segments.length) // 2
    mean = segments.sum(learned.aversion.v_post * late) / np.maximum(segments.sum(late), 1.0)
    return np.where(segments.length >= min_responses, mean, np.nan)


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
