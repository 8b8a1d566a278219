"""Events → per-unit response sequences (a unit is one user on one mechanic).

A reward belongs to the most recent response of the same user and mechanic at or
before its timestamp; a response with no reward before the next response was not reinforced.
Sessions are runs of a unit's responses separated by less than an inactivity gap,
or by an explicit `session_id` when both responses carry one. After each response the user
either continued the session or stopped; for a unit's last response that is unobservable when
the observation window ends less than one gap later, so that outcome is *censored* (excluded
from the engagement likelihood rather than counted as a stop).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models import localtime
from models.amounts import AmountBounds, bounded_amounts
from models.columns import RESPONSE, EventColumns
from models.ordering import bucket_time_order
from models.segments import Segments


@dataclass(frozen=True, kw_only=True)
class Trials:
    """Responses of u units, n responses, sorted by (mechanic, user, time).

    units:          Segments of the n responses by unit
    unit_user:      (u,) int64 user code of each unit (into `user_ids`)
    unit_mechanic:  (u,) int32 mechanic code of each unit (into `mechanics`)
    t:              (n,) float64 response time, epoch seconds
    cost:           (n,) float64 response cost
    gain:           (n,) float64 sum of the positive reward values attached to the response
    loss:           (n,) float64 sum of |negative reward values| attached (aversive outcomes)
    rewarded:       (n,) bool, at least one reward event (of any value) was attached
    option:         (n,) int32 option code, -1 when absent
    utc_offset_s:   (n,) int32 the user's zone offset at the response, where `local_known`
    local_known:    (n,) bool, the response's local time is known (its own offset, or the
                    project's declared zone; `models.localtime`); elsewhere utc_offset_s is 0
    day_offset_s:   (n,) int32 the offset that puts the user's day boundary at local midnight:
                    utc_offset_s where local time is known, else the boundary inferred from the
                    user's daily rhythm and reward claims (`models.localtime.rhythm_day_offsets`,
                    `claim_day_offsets`); for calendar days only, never for the clock
    delay_s:        (n,) float64 wait offered in a wait-or-pay choice, NaN otherwise
    sessions:       Segments of the n responses by session (sessions never span units)
    continued:      (n,) bool, the next response of the unit belongs to the same session
    censored:       (n,) bool, whether the user continued is unobservable (window ended)
    observed_until: end of the observation window, epoch seconds
    orphan_rewards: (m,) int64 per mechanic code, rewards with no earlier response (dropped)
    """

    units: Segments
    unit_user: NDArray[np.int64]
    unit_mechanic: NDArray[np.int32]
    t: NDArray[np.float64]
    cost: NDArray[np.float64]
    gain: NDArray[np.float64]
    loss: NDArray[np.float64]
    rewarded: NDArray[np.bool_]
    option: NDArray[np.int32]
    utc_offset_s: NDArray[np.int32]
    local_known: NDArray[np.bool_]
    day_offset_s: NDArray[np.int32]
    delay_s: NDArray[np.float64]
    sessions: Segments
    continued: NDArray[np.bool_]
    censored: NDArray[np.bool_]
    observed_until: float
    orphan_rewards: NDArray[np.int64]
    user_ids: tuple[str, ...]
    mechanics: tuple[str, ...]
    options: tuple[str, ...]

    @property
    def reward(self) -> NDArray[np.float64]:
        """(n,) net outcome r = gain − loss − cost, the reward the expectation models learn:
        on a paid response the outcome is relative to the stake, so a payout below the stake
        (a loss disguised as a win; Dixon et al. 2010) is a negative surprise, not a positive
        one. Free responses (cost 0) learn from gain − loss."""
        return self.gain - self.loss - self.cost

    @property
    def win(self) -> NDArray[np.bool_]:
        """(n,) the response paid something worth its cost: gain > 0 and gain ≥ cost.

        This per-response definition is used by per-user markers; the schedule of a mechanic
        uses the pooled definition of valuable outcomes in `models.schedule`.
        """
        return (self.gain > 0.0) & (self.gain >= self.cost)

    @property
    def row_mechanic(self) -> NDArray[np.int32]:
        """(n,) mechanic code of each response."""
        return np.repeat(self.unit_mechanic, self.units.length)


def event_order(
    group: NDArray[np.int64], t: NDArray[np.float64], kind: NDArray[np.int8]
) -> NDArray[np.int64]:
    """The stable order of events by (group, t, kind): `np.lexsort((kind, t, group))`.

    Compiled (`models.ordering.bucket_time_order`): a counting sort by (group, kind), then each
    group's events stably by time, which leaves ties in time ordered by kind, then position.
    Linear in the events and groups, where a comparison sort of 10M events took seconds.
    Falls back to `lexsort` when a time is NaN, kinds are not 0/1, or the group codes span
    far more values than there are events (the counting table would outgrow the data).
    """
    n = t.shape[0]
    top = int(group.max()) if n else 0
    if (
        n < 2
        or int(group.min()) < 0
        or top > 4 * n + (1 << 20)
        or not bool(np.all((kind == 0) | (kind == 1)))
        or bool(np.isnan(t).any())
    ):
        return np.lexsort((kind, t, group)).astype(np.int64)
    key = group.astype(np.int64) * 2 + kind
    return bucket_time_order(key, t, keys_per_bucket=2, keys=2 * (top + 1))


def build_trials(
    columns: EventColumns,
    *,
    session_gap_s: float,
    observed_until: float,
    time_zone: str | None = None,
    bounds: AmountBounds | None = None,
) -> Trials:
    """Sort, attach rewards to responses, cut sessions and mark censored continuations.

    time_zone: the project's declared IANA zone, for events that sent no offset of their own.
    bounds: the caps on costs and reward values (`models.amounts`; the analysis passes those
    of the whole audit); None counts every amount as sent.

    Cost: one lexicographic sort of the n events plus O(n) vectorised passes.
    """
    n_users = max(len(columns.user_ids), 1)
    group = columns.mechanic.astype(np.int64) * n_users + columns.user
    # responses sort before rewards at equal times: a reward at a response's instant attaches to it
    order = event_order(group, columns.t, columns.kind)
    kind = columns.kind[order]
    grp = group[order]
    is_resp = kind == RESPONSE
    resp_rows = order[is_resp]
    resp_group = grp[is_resp]
    n = int(resp_rows.shape[0])

    latest = np.cumsum(is_resp) - 1  # index (in response numbering) of the latest response so far
    rew_sorted = ~is_resp
    target = latest[rew_sorted]
    rew_rows = order[rew_sorted]
    valid = target >= 0
    valid[valid] = resp_group[target[valid]] == grp[rew_sorted][valid]
    cost_all, value_all = (
        (columns.cost, columns.value) if bounds is None else bounded_amounts(columns, bounds)
    )
    value = value_all[rew_rows]
    tv = target[valid]
    vv = value[valid]
    gain = np.bincount(tv, weights=np.where(vv > 0.0, vv, 0.0), minlength=n)[:n].astype(np.float64)
    loss = np.bincount(tv, weights=np.where(vv < 0.0, -vv, 0.0), minlength=n)[:n].astype(np.float64)
    rewarded = np.bincount(tv, minlength=n)[:n] > 0
    orphan_rewards = np.bincount(
        columns.mechanic[rew_rows[~valid]], minlength=len(columns.mechanics)
    ).astype(np.int64)

    first = np.ones(n, dtype=bool)
    if n > 1:
        first[1:] = resp_group[1:] != resp_group[:-1]
    units = Segments.from_first_flags(first)
    t = columns.t[resp_rows]
    session_id = columns.session[resp_rows]

    new_session = first.copy()
    if n > 1:
        gap = t[1:] - t[:-1]
        both_ids = (session_id[1:] >= 0) & (session_id[:-1] >= 0)
        changed = np.where(both_ids, session_id[1:] != session_id[:-1], gap >= session_gap_s)
        new_session[1:] |= changed
    sessions = Segments.from_first_flags(new_session)

    last = units.last
    continued = np.zeros(n, dtype=bool)
    if n > 1:
        continued[:-1] = ~new_session[1:]
    continued &= ~last
    censored = last & (t + session_gap_s > observed_until)
    offset, known = localtime.resolve(t, columns.utc_offset_s[resp_rows], time_zone)
    user = columns.user[resp_rows]
    rhythm, _ = localtime.rhythm_day_offsets(t, user)
    day_offset, _ = localtime.claim_day_offsets(t, units.index, user, rewarded, rhythm)

    return Trials(
        units=units,
        unit_user=columns.user[resp_rows[units.start]].astype(np.int64),
        unit_mechanic=columns.mechanic[resp_rows[units.start]].astype(np.int32),
        t=t,
        cost=cost_all[resp_rows],
        gain=gain,
        loss=loss,
        rewarded=rewarded,
        option=columns.option[resp_rows],
        utc_offset_s=offset,
        local_known=known,
        day_offset_s=np.where(known, offset, day_offset).astype(np.int32),
        delay_s=columns.delay_s[resp_rows],
        sessions=sessions,
        continued=continued,
        censored=censored,
        observed_until=float(observed_until),
        orphan_rewards=orphan_rewards,
        user_ids=columns.user_ids,
        mechanics=columns.mechanics,
        options=columns.options,
    )
