"""Markers of reward-prediction-error exposure, per unit.

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
- front_loading: (early − late) / (early + late) mean payout per response, first vs last third:
  > 0 when rewards fall with tenure.
- option_concentration: share of a user's choices that went to their most chosen option.
- aversive_expectation: the aversion V⁻ a user has learned to expect (opponent form), mean
  over the last half: streak losses users anticipate may keep them coming back to avoid them
  (our hypothesis, after the opponent process of Solomon & Corbit 1974).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from models.expectation import opponent, rescorla_wagner
from models.segments import Segments, previous_index, stable_argsort

COUNT_STATES = 64  # responses since the last win, 1..64, then one state for "longer"


TIME_STATES_PER_DECADE = 2  # log-time states of the interval learner


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
