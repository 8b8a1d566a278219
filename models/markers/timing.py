"""Markers of when and how long users play, per unit.

- night_share: share of responses between night_start and night_end o'clock in the user's zone,
  over the responses whose local time is known (`models.localtime`); NaN (not assessable)
  where too few are.
- session_escalation / frequency_escalation: least-squares change of log session length / of
  −log time between session starts from a user's first session to the last (tolerance:
  sessions that grow and come closer together; our operationalisation — Braverman & Shaffer
  2012 report increasing wager size, not session length, in a high-risk group).
- post_reward_pause: exp(mean log(IRT + 1 s) after wins − after other responses) (the
  post-reinforcement pause of fixed schedules; Ferster & Skinner 1957).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import t as student_t

from models.markers.prediction_errors import _ratio
from models.segments import Segments


def is_night(
    t: NDArray[np.float64], utc_offset_s: NDArray[np.int32], start_hour: float, end_hour: float
) -> NDArray[np.bool_]:
    """(n,) the local clock (UTC + offset) reads within [start_hour, end_hour)."""
    hour = np.mod(t + utc_offset_s, 86400.0) / 3600.0
    if start_hour <= end_hour:
        return np.asarray((hour >= start_hour) & (hour < end_hour), dtype=bool)
    return np.asarray((hour >= start_hour) | (hour < end_hour), dtype=bool)


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
