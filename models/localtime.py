"""Local time: where it is known, where it can only be inferred, and what each may be used for.

Analytics SDKs send timestamps in UTC ("Z"); a user's local clock is known only from

1. the event's own UTC offset, when the product sends one (`utc_offset_s`, a sent 0 being UTC;
   `models.columns.OFFSET_UNKNOWN` where it sent none), or
2. the project's declared time zone (an IANA name such as "Europe/Berlin"), which gives every
   event without an offset the zone's offset at that instant (daylight saving included).

A `Z` timestamp with no offset and no declared zone is *unknown*, not UTC: a product whose users
live in three zones and that sends "Z" timestamps would otherwise have a third of its users
"playing at night" at their lunch hour. Markers of the clock (night play) are computed only over
events whose local time is known, and are "not assessable" where there are none.

A calendar reset (a daily reward at local midnight) only needs *where a user's day ends*, not
the clock: any boundary inside the user's nightly pause cuts their responses into the same days.
`rhythm_day_offsets` infers that boundary from each user's own daily rhythm — the middle of the
quietest six-hour stretch of their 24-hour activity histogram — with a confidence (how much
quieter than uniform that stretch is). A user active in every hour of the day has no such pause;
their reward claims still show where their day ends, since a reward that resets at midnight is
claimed once a day, on the day's first response: `claim_day_offsets` moves each user's boundary
to the whole-hour shift of the rhythm's boundary that makes their claims most consistent with
that, keeping the rhythm's unless another fits strictly better, with a confidence (how much of
the misfit of a typical boundary the chosen one removes). Both are used for calendar days only,
never for night play, which they would assume away (they place the day boundary where the user
is quiet or where their rewards reset, whatever the clock says).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from numpy.typing import NDArray

from models.columns import OFFSET_UNKNOWN

DAY_S = 86400.0
HOUR_BINS = 24
# the quiet stretch whose middle is taken as a user's day boundary: six hours, the shortest
# nightly pause of the adults in time-use surveys is about that long; a shorter window would
# find the lunch break of users who do not play in the evening
QUIET_HOURS = 6
# offsets of a declared zone are looked up on this grid (seconds); zone transitions fall on
# quarter hours, so no event is given the wrong offset by more than the transition's instant
ZONE_GRID_S = 900.0


def check_time_zone(name: str) -> None:
    """Raise ValueError unless `name` is an IANA time zone known to this system."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def zone_offsets(t: NDArray[np.float64], time_zone: str) -> NDArray[np.int32]:
    """(n,) the UTC offset (s) of `time_zone` at each instant t (epoch seconds)."""
    n = t.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    zone = ZoneInfo(time_zone)
    lo = float(np.floor(t.min() / ZONE_GRID_S) * ZONE_GRID_S)
    slot = np.floor((t - lo) / ZONE_GRID_S).astype(np.int64)
    # one lookup per hour of the span, then per quarter hour only around a change of offset
    hours = int(slot.max()) // 4 + 2
    at = np.array([_offset(zone, lo + 4 * ZONE_GRID_S * h) for h in range(hours)], dtype=np.int64)
    grid = np.repeat(at, 4)
    for h in np.flatnonzero(at[1:] != at[:-1]):
        for q in range(4):
            grid[4 * h + q] = _offset(zone, lo + ZONE_GRID_S * (4 * h + q))
    return grid[slot].astype(np.int32)


def _offset(zone: ZoneInfo, t: float) -> int:
    delta = datetime.fromtimestamp(t, UTC).astimezone(zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def resolve(
    t: NDArray[np.float64], utc_offset_s: NDArray[np.int32], time_zone: str | None
) -> tuple[NDArray[np.int32], NDArray[np.bool_]]:
    """(offsets, known), both (n,): the event's own offset where it sent one (0 included: a
    user in London in winter), else the declared zone's offset; `known` is False where neither
    exists (offset left at 0)."""
    sent = utc_offset_s != OFFSET_UNKNOWN
    if time_zone is None:
        return np.where(sent, utc_offset_s, 0).astype(np.int32), np.asarray(sent, dtype=bool)
    offsets = np.where(sent, utc_offset_s, zone_offsets(t, time_zone)).astype(np.int32)
    return offsets, np.ones(t.shape[0], dtype=bool)


def rhythm_day_offsets(
    t: NDArray[np.float64], user: NDArray[np.int64]
) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
    """Per event, an offset that puts the user's day boundary at local midnight, and per event
    the user's rhythm confidence (both (n,)).

    t: (n,) epoch seconds; user: (n,) user code (any non-negative integers).
    Boundary: the middle of the circular run of QUIET_HOURS hourly bins with the fewest of the
    user's events (the earliest such run on ties, so the result depends on the user's events
    only). Confidence: 1 − (events in that run) / (events expected there if the user's events
    were spread evenly over the day); 0 for a user who is as active at every hour.
    """
    n = t.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0)
    codes, inverse = np.unique(user, return_inverse=True)
    hour = (np.floor(np.mod(t, DAY_S) / 3600.0).astype(np.int64)) % HOUR_BINS
    hist = np.bincount(inverse * HOUR_BINS + hour, minlength=codes.shape[0] * HOUR_BINS).reshape(
        -1, HOUR_BINS
    )
    # circular window sums: window starting at hour h covers h .. h + QUIET_HOURS − 1
    wrapped = np.concatenate([hist, hist[:, : QUIET_HOURS - 1]], axis=1)
    cum = np.concatenate([np.zeros((hist.shape[0], 1), dtype=np.int64), wrapped.cumsum(axis=1)], 1)
    windows = cum[:, QUIET_HOURS : QUIET_HOURS + HOUR_BINS] - cum[:, :HOUR_BINS]
    start = windows.argmin(axis=1)
    quiet = windows[np.arange(hist.shape[0]), start]
    total = hist.sum(axis=1)
    confidence = np.clip(1.0 - quiet / (total * QUIET_HOURS / HOUR_BINS), 0.0, 1.0)
    boundary_s = (start * 3600.0 + QUIET_HOURS * 1800.0) % DAY_S
    # where the user has hours with no event at all, any boundary inside the longest such run
    # cuts their events into the same days as their own midnight does (when they sleep there),
    # so its middle is the better estimate than the middle of a window that still holds events
    empty_start, empty_length = _longest_empty_run(hist)
    has_empty = empty_length > 0
    boundary_s = np.where(
        has_empty, (empty_start * 3600.0 + empty_length * 1800.0) % DAY_S, boundary_s
    )
    # local = t + offset; local midnight at the boundary ⇒ offset ≡ −boundary (mod one day),
    # taken in (−12 h, +12 h]
    offset = -boundary_s
    offset = np.where(offset <= -DAY_S / 2, offset + DAY_S, offset)
    return offset[inverse].astype(np.int32), confidence[inverse]


def _longest_empty_run(hist: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per row of a (users, 24) histogram, the start and length (hours) of the longest circular
    run of empty bins (the earliest on ties); length 0 where no bin is empty."""
    users, bins = hist.shape
    empty = np.concatenate([hist, hist], axis=1) == 0
    # run length ending at each position of the doubled row
    run = np.zeros(empty.shape, dtype=np.int64)
    for j in range(2 * bins):
        run[:, j] = np.where(empty[:, j], (run[:, j - 1] if j else 0) + 1, 0)
    run = np.minimum(run, bins)
    end = run.argmax(axis=1)
    length = run[np.arange(users), end]
    start = (end - length + 1) % bins
    return start.astype(np.int64), length.astype(np.int64)


def claim_day_offsets(
    t: NDArray[np.float64],
    unit: NDArray[np.int64],
    user: NDArray[np.int64],
    rewarded: NDArray[np.bool_],
    prior: NDArray[np.int32],
) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
    """Per response, an offset whose day boundary best explains the user's reward claims as a
    calendar-day reset, and per response how much the claims say about it (both (n,)).

    t: (n,) epoch seconds, ascending within each unit; unit: (n,) unit code (one user on one
    mechanic), a unit's rows contiguous; user: (n,) user code; rewarded: (n,) the response was
    rewarded; prior: (n,) the user's offset from their rhythm (`rhythm_day_offsets`).

    Candidates: the prior and the prior moved by each whole hour. Cut at a candidate, each unit's
    responses fall into days; on a reward that resets at the day boundary a day holds exactly one
    reward, on its first response. A unit's misfit is the sum over its days of |rewards − 1| and
    of the days whose first response went unrewarded while a later one was rewarded. Only units
    that could be such a reset speak: some reward, and some candidate that leaves no day with two
    (a slot machine or an hourly bonus pays several times in any day, whatever cuts it). The
    user's boundary is the candidate of least summed misfit over those units, the nearest to the
    prior on ties: the prior stays unless the claims fit another boundary strictly better.
    Confidence: 1 − (least misfit) / (median misfit over the candidates), 0 where the median is
    0 — near 1 where only one boundary makes the claims one a day, 0 where nothing speaks.
    """
    n = t.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int32), np.zeros(0)
    # units in row order (a unit's rows are contiguous), and each unit's user
    new_unit = np.r_[True, unit[1:] != unit[:-1]]
    unit_of = np.cumsum(new_unit) - 1
    starts = np.flatnonzero(new_unit)
    units = starts.shape[0]
    codes, unit_user = np.unique(user[starts], return_inverse=True)
    users = codes.shape[0]
    inverse = unit_user[unit_of]
    claims = np.bincount(unit_of, weights=rewarded, minlength=units)
    # a unit with more rewards than the days its time span can touch has two in some day
    # whatever cuts it: only the other units' rows are cut
    span = t[np.r_[starts[1:], n] - 1] - t[starts]
    possible = (claims > 0) & (claims <= np.floor(span / DAY_S) + 2)
    rows = possible[unit_of]
    t_rows, prior_rows, of_rows = t[rows], prior[rows], unit_of[rows]
    paid = rewarded[rows]
    weights = paid.astype(np.float64)
    same_unit = np.zeros(t_rows.shape[0], dtype=bool)
    same_unit[1:] = of_rows[1:] == of_rows[:-1]
    misfit = np.zeros((units, HOUR_BINS))
    crowded = np.zeros((units, HOUR_BINS))  # days with two rewards or more
    for k in range(HOUR_BINS if t_rows.shape[0] else 0):
        day = np.floor((t_rows + prior_rows + k * 3600.0) / DAY_S)
        first = ~same_unit
        first[1:] |= day[1:] != day[:-1]
        group = np.cumsum(first) - 1
        rewards = np.bincount(group, weights=weights)
        late = (rewards > 0) & ~paid[first]
        day_unit = of_rows[first]
        misfit[:, k] = np.bincount(day_unit, weights=np.abs(rewards - 1.0) + late, minlength=units)
        crowded[:, k] = np.bincount(day_unit, weights=rewards >= 2, minlength=units)
    speaks = possible & (crowded.min(axis=1) == 0)
    user_misfit = np.zeros((users, HOUR_BINS))
    np.add.at(user_misfit, unit_user[speaks], misfit[speaks])
    # ties go to the candidate nearest the prior: a fraction of an hour's distance, never a
    # whole response's misfit
    shifts = np.arange(HOUR_BINS)
    distance = np.minimum(shifts, HOUR_BINS - shifts) / (HOUR_BINS + 1.0)
    best = (user_misfit + distance).argmin(axis=1)
    least = user_misfit[np.arange(users), best]
    median = np.median(user_misfit, axis=1)
    confidence = np.where(median > 0, 1.0 - least / np.where(median > 0, median, 1.0), 0.0)
    offset = np.mod(prior + best[inverse] * 3600.0, DAY_S)
    offset = np.where(offset > DAY_S / 2, offset - DAY_S, offset)  # in (−12 h, +12 h]
    return offset.astype(np.int32), confidence[inverse]
