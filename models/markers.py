"""Markers of harm and of reward-prediction-error exposure, per user (DESIGN §4.4).

Every marker is computed per unit (one user on one mechanic) from flat arrays in one
vectorised pass; mechanic summaries (medians, shares, Gini) are taken over the units at merge
time. Player-protection engines build their risk scores from the same kinds of markers
(Braverman & Shaffer 2010; Finkenwirth et al. 2021; UK Gambling Commission 2023 guidance on
customer interaction: time of day, session length and frequency, spend and its concentration,
chasing losses).

- rpe_persistence: mean |δ| over the last third of a user's responses divided by the first
  third. δ comes from a cue-conditional Rescorla-Wagner learner (one expectation per state:
  responses since the last win for ratio schedules, log time since the last win for interval
  schedules), so a learnable schedule drives late |δ| to 0 while a variable one keeps it at
  its floor 2p(1 − p) (Redish 2004; Schultz, Dayan & Montague 1997).
- rpe_balance: Σδ / Σ|δ| over the last half: −1 when every outcome disappoints (rewards falling
  faster than expectations adapt: the anhedonia signature of Huys et al. 2013), ≈ 0 when the
  schedule is stationary.
- night_share: share of responses between night_start and night_end o'clock in the user's zone.
- session_escalation / frequency_escalation: least-squares change of log session length / of
  −log time between session starts from a user's first session to the last (tolerance:
  sessions that grow and come closer together; Braverman & Shaffer 2010).
- post_reward_pause: exp(mean log(IRT + 1 s) after wins − after other responses) (the
  post-reinforcement pause of fixed schedules; Ferster & Skinner 1957).
- front_loading: (early − late) / (early + late) mean payout per response, first vs last third:
  > 0 when rewards fall with tenure.
- option_concentration: share of a user's choices that went to their most chosen option.
- aversive_expectation: the aversion V⁻ a user has learned to expect (opponent form), mean
  over the last half: streak losses users anticipate keep them coming back to avoid them
  (Solomon & Corbit 1974).
- gini, top_share, lorenz: concentration of spend across users (Gini 1912; Lorenz 1905).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

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
    night: NDArray[np.bool_], segments: Segments, min_responses: int
) -> NDArray[np.float64]:
    """(u,) share of each unit's responses made at night (NaN below min_responses)."""
    share = segments.sum(night) / segments.length
    return np.where(segments.length >= min_responses, share, np.nan)


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
    session length (`session_escalation`) and of session frequency (`frequency_escalation`)."""

    sessions: NDArray[np.int64]
    session_escalation: NDArray[np.float64]
    frequency_escalation: NDArray[np.float64]


def _ols_change(
    y: NDArray[np.float64], x: NDArray[np.float64], group: NDArray[np.int64], count: int
) -> NDArray[np.float64]:
    """Per group, slope of y on x by least squares (x spans [0, 1]: the fitted total change)."""
    w = np.bincount(group, minlength=count).astype(np.float64)
    sx = np.bincount(group, weights=x, minlength=count)
    sy = np.bincount(group, weights=y, minlength=count)
    sxx = np.bincount(group, weights=x * x, minlength=count)
    sxy = np.bincount(group, weights=x * y, minlength=count)
    with np.errstate(divide="ignore", invalid="ignore"):
        den = w * sxx - sx * sx
        return np.where(den > 1e-12, (w * sxy - sx * sy) / np.where(den > 1e-12, den, 1.0), np.nan)


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
    length_change = _ols_change(
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
    freq_change = -_ols_change(np.log(gap[g_ok]), g_x, g_unit, units.count)
    enough = n_kept >= min_sessions
    return SessionTrends(
        sessions=n_sess,
        session_escalation=np.where(enough, length_change, np.nan),
        frequency_escalation=np.where(n_gaps >= min_sessions - 1, freq_change, np.nan),
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
