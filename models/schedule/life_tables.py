"""The life tables of a mechanic: responses at risk and rewards in each state, per magnitude
rung, summed over users.

Hazards are life-table estimates: every response is one trial "at risk" in its state, so runs
that never ended in a reward (the user stopped first — most users do; many respond once)
contribute their at-risk trials without an event, i.e. they are censored, not dropped
(Kaplan & Meier 1958; the discrete-time hazard of Allison 1982). Every statistic here is a sum
over responses, so each partition of users yields `ScheduleStats` that add up exactly
(`merge_stats`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

from models.exactsum import ExactSums
from models.schedule.counting import life_table_counts
from models.schedule.states import (
    _BIN_OFFSET,
    _BIN_SCALE,
    K_MAX,
    N_COUNT,
    N_DAY,
    N_TENURE,
    N_TIME,
    N_TIME_ALL,
    TIME_LOG10_MIN,
    TIME_PER_DECADE,
    TIME_UNDEFINED,
    _finite_time_bin,
    rung_index,
    rung_value,
    time_bin,
)
from models.segments import Segments


@dataclass(frozen=True, kw_only=True)
class OutcomeTables:
    """Life tables of one definition of a valuable outcome on one mechanic (counts: int64).

    count_n, count_w:  (N_COUNT,) responses at risk / valuable outcomes by state k at index
                       k − 1; the last index pools k > K_MAX
    after_n, after_w:  the same for responses after the unit's first valuable outcome
    session_n, session_w: (N_COUNT,) by responses since the last valuable outcome or the start
                       of the session, whichever is later (counters that restart each session)
    daily_n, daily_w:  the same restarting at local midnight (counters that restart each day)
    first_n, first_w:  units' first responses, and how many of them paid
    elapsed_n, elapsed_w: (N_TIME_ALL,) by time since the last valuable outcome
    irt_n, irt_w:      (N_TIME_ALL,) by time since the unit's previous response
    irt_x:             (N_TIME_ALL,) float, valuable outcomes expected in each bin if every unit
                       paid at its own constant rate (Σ of the unit's rate over its responses):
                       the within-user null, immune to differences between users. Rates are
                       rounded to multiples of 2⁻²⁴ so the sums are exact in any order
    day_n, day_w:      (N_DAY,) by local calendar days since the last valuable outcome
    utc_day_n, utc_day_w: (N_DAY,) the same on the UTC calendar (resets at UTC midnight)
    tenure_n, tenure_w: (N_TENURE,) by the unit's response ordinal (log₂ bins)
    tenure_x:          (N_TENURE,) float, expected valuable outcomes under the within-user null
    gap_event, gap_censored: (N_TIME,) completed / censored durations between valuable outcomes
    """

    count_n: NDArray[np.int64]
    count_w: NDArray[np.int64]
    after_n: NDArray[np.int64]
    after_w: NDArray[np.int64]
    session_n: NDArray[np.int64]
    session_w: NDArray[np.int64]
    daily_n: NDArray[np.int64]
    daily_w: NDArray[np.int64]
    first_n: NDArray[np.int64]
    first_w: NDArray[np.int64]
    elapsed_n: NDArray[np.int64]
    elapsed_w: NDArray[np.int64]
    irt_n: NDArray[np.int64]
    irt_w: NDArray[np.int64]
    irt_x: NDArray[np.float64]
    day_n: NDArray[np.int64]
    day_w: NDArray[np.int64]
    utc_day_n: NDArray[np.int64]
    utc_day_w: NDArray[np.int64]
    tenure_n: NDArray[np.int64]
    tenure_w: NDArray[np.int64]
    tenure_x: NDArray[np.float64]
    gap_event: NDArray[np.int64]
    gap_censored: NDArray[np.int64]

    def __add__(self, other: OutcomeTables) -> OutcomeTables:
        return OutcomeTables(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    @property
    def responses(self) -> int:
        return int(self.count_n.sum())

    @property
    def wins(self) -> int:
        return int(self.count_w.sum())


@dataclass(frozen=True, slots=True)
class _MechanicRows:
    """One mechanic's responses (rows sorted by unit and time) and what every definition of a
    valuable outcome shares: the row opening each row's session and local day (int32),
    calendar days, and the joint inter-response-time × tenure state."""

    units: Segments
    t: NDArray[np.float64]
    session_first: NDArray[np.int32]
    day_first: NDArray[np.int32]
    days: NDArray[np.int32]  # (n, 2) local and UTC calendar day
    tempo: NDArray[np.int32]  # inter-response-time bin × N_TENURE + tenure bin

    @classmethod
    def of(
        cls,
        units: Segments,
        t: NDArray[np.float64],
        utc_offset_s: NDArray[np.int32],
        session_start: NDArray[np.bool_],
    ) -> _MechanicRows:
        n = units.rows
        row = np.arange(n, dtype=np.int32)
        first = units.first
        days = np.empty((n, 2), dtype=np.int32)
        days[:, 0] = np.floor((t + utc_offset_s) / 86400.0)
        days[:, 1] = np.floor(t / 86400.0)
        day_start = first.copy()
        if n > 1:
            day_start[1:] |= days[1:, 0] != days[:-1, 0]
        tau = np.full(n, np.nan)
        if n > 1:
            tau[1:] = t[1:] - t[:-1]
        tau[first] = np.nan
        tenure = np.minimum(np.floor(np.log2(units.position + 1.0)), N_TENURE - 1)
        return cls(
            units=units,
            t=t,
            session_first=_first_of_run(session_start | first, row),
            day_first=_first_of_run(day_start, row),
            days=days,
            tempo=(time_bin(tau) * N_TENURE + tenure.astype(np.int64)).astype(np.int32),
        )


def _first_of_run(start: NDArray[np.bool_], row: NDArray[np.int32]) -> NDArray[np.int32]:
    """(n,) the row opening the run each row is in, runs beginning where `start` is True."""
    starts = np.flatnonzero(start).astype(np.int32)
    if not starts.size:
        return np.zeros(row.shape[0], dtype=np.int32)
    return starts[np.cumsum(start, dtype=np.int32) - 1]


_RATE_GRID = float(1 << 24)


def _outcome_tables(win: NDArray[np.bool_], rows: _MechanicRows) -> OutcomeTables:
    """The life tables of one definition of a valuable outcome (`win`, (n,)).

    Each table is a histogram of a state, all counted in one compiled pass over the rows
    (`life_table_counts`: per row, the responses since the unit's last valuable
    outcome — overall, in its session, on its local day —, the time and calendar days since
    it, the inter-response time and tenure), then marginalised here.
    """
    units = rows.units
    # each unit's own rate of valuable outcomes, the within-user null: integer multiples of
    # 2⁻²⁴, whose sums of up to 2²⁹ are exact in float64 in any order
    won = np.add.reduceat(win.astype(np.int64), units.start) if units.count else np.zeros(0)
    rate = np.round(won / units.length * _RATE_GRID)
    count, session, daily, clock, tempo, expected, open_span = life_table_counts(
        win, units.start, units.length, rows.session_first, rows.day_first, rows.days,
        rows.t, rows.tempo, rate,
        shape=(K_MAX, N_DAY, TIME_UNDEFINED, N_TIME, N_TIME_ALL, N_TENURE),
        bins=(float(_BIN_SCALE), float(_BIN_OFFSET), TIME_LOG10_MIN, float(TIME_PER_DECADE)),
    )  # fmt: skip
    count = count.reshape(N_COUNT, 4)
    session = session.reshape(N_COUNT, 2)
    daily = daily.reshape(N_COUNT, 2)
    clock = clock.reshape(N_TIME_ALL, N_DAY, N_DAY, 2)
    elapsed = clock.sum(axis=(1, 2))
    days = clock.sum(axis=0)
    tempo = tempo.reshape(N_TIME_ALL, N_TENURE, 2)
    expected = expected.reshape(N_TIME_ALL, N_TENURE)
    # durations between valuable outcomes: completed at each later win (the paid elapsed-time
    # table: a paid response after a win completes one), censored at a unit's end
    censored = _finite_time_bin(open_span[open_span > 0])  # NaN (no win) compares False
    first = units.first
    return OutcomeTables(
        count_n=count.sum(axis=1),
        count_w=count[:, 1] + count[:, 3],
        after_n=count[:, 2] + count[:, 3],
        after_w=count[:, 3].copy(),
        session_n=session.sum(axis=1),
        session_w=session[:, 1].copy(),
        daily_n=daily.sum(axis=1),
        daily_w=daily[:, 1].copy(),
        first_n=np.array([int(first.sum())], dtype=np.int64),
        first_w=np.array([int((first & win).sum())], dtype=np.int64),
        elapsed_n=elapsed.sum(axis=1),
        elapsed_w=elapsed[:, 1].copy(),
        irt_n=tempo.sum(axis=(1, 2)),
        irt_w=tempo[:, :, 1].sum(axis=1),
        irt_x=expected.sum(axis=1) / _RATE_GRID,
        day_n=days[:, :, :].sum(axis=(1, 2)),
        day_w=days[:, :, 1].sum(axis=1),
        utc_day_n=days.sum(axis=(0, 2)),
        utc_day_w=days[:, :, 1].sum(axis=0),
        tenure_n=tempo.sum(axis=(0, 2)),
        tenure_w=tempo[:, :, 1].sum(axis=0),
        tenure_x=expected.sum(axis=0) / _RATE_GRID,
        gap_event=elapsed[:N_TIME, 1].copy(),
        gap_censored=np.bincount(censored, minlength=N_TIME_ALL)[:N_TIME].astype(np.int64),
    )


@dataclass(frozen=True, kw_only=True)
class ScheduleStats:
    """Mergeable sufficient statistics of one mechanic's schedule.

    responses, units:   counts; cost_responses: responses with cost > 0
    paid_responses:     responses with any positive reward; aversive_responses: with a loss
    any_tables:         valuable = any positive reward
    cost_tables:        valuable = reward ≥ cost (and > 0)
    rung_tables:        valuable = reward ≥ rung_value(j), for rungs inside (min_gain, max_gain]
    none_tables:        no response valuable (what a rung above every payout yields)
    min_gain, max_gain: extreme positive payouts (inf / −inf when none)
    ladder_count, ladder_value: {rung: count, exact Σ value} of positive payouts by ladder bin
    gain_n, gain_sum, gain_sq_sum: count and exact Σg, Σg² of positive payouts (exact sums
                        merge exactly, so the report does not depend on how users were split)
    """

    responses: int
    units: int
    cost_responses: int
    paid_responses: int
    aversive_responses: int
    any_tables: OutcomeTables
    cost_tables: OutcomeTables
    none_tables: OutcomeTables
    rung_tables: dict[int, OutcomeTables]
    min_gain: float
    max_gain: float
    ladder_count: dict[int, int]
    ladder_value: dict[int, Fraction]
    gain_n: int
    gain_sum: Fraction
    gain_sq_sum: Fraction

    def tables_for_rung(self, j: int) -> OutcomeTables:
        """Tables of 'reward ≥ rung_value(j)', derived when this partition did not need them."""
        if j in self.rung_tables:
            return self.rung_tables[j]
        if rung_value(j) <= self.min_gain:
            return self.any_tables
        return self.none_tables


def schedule_stats(
    units: Segments,
    t: NDArray[np.float64],
    gain: NDArray[np.float64],
    loss: NDArray[np.float64],
    cost: NDArray[np.float64],
    utc_offset_s: NDArray[np.int32],
    session_start: NDArray[np.bool_] | None = None,
) -> ScheduleStats:
    """Sufficient statistics of one mechanic from its responses (rows by unit, in time order).

    session_start: (n,) the response opens a session (default: only units' first responses).
    """
    n = units.rows
    rows = _MechanicRows.of(
        units, t, utc_offset_s, units.first if session_start is None else session_start
    )
    paid = gain > 0.0
    any_tables = _outcome_tables(paid, rows)
    cost_tables = _outcome_tables(paid & (gain >= cost), rows)
    none_tables = _outcome_tables(np.zeros(n, dtype=bool), rows)
    positive = gain[paid]
    rung_tables: dict[int, OutcomeTables] = {}
    ladder_count: dict[int, int] = {}
    ladder_value: dict[int, Fraction] = {}
    if positive.size:
        lo, hi = float(positive.min()), float(positive.max())
        bins = rung_index(positive)
        for j in range(
            int(rung_index(np.array([lo]))[0]) + 1, int(rung_index(np.array([hi]))[0]) + 1
        ):
            rung_tables[j] = _outcome_tables(gain >= rung_value(j), rows)
        ub, inv = np.unique(bins, return_inverse=True)
        counts = np.bincount(inv)
        values = ExactSums.of(inv.astype(np.int64), positive, int(ub.shape[0])).exact()
        ladder_count = {int(b): int(c) for b, c in zip(ub, counts, strict=True)}
        ladder_value = {int(b): v for b, v in zip(ub, values, strict=True)}
        moments = ExactSums.of(
            np.repeat(np.arange(2, dtype=np.int64), positive.size),
            np.concatenate([positive, positive * positive]),
            2,
        ).exact()
    else:
        lo, hi, moments = np.inf, -np.inf, [Fraction(0), Fraction(0)]
    return ScheduleStats(
        responses=n,
        units=units.count,
        cost_responses=int((cost > 0).sum()),
        paid_responses=int(paid.sum()),
        aversive_responses=int((loss > 0).sum()),
        any_tables=any_tables,
        cost_tables=cost_tables,
        none_tables=none_tables,
        rung_tables=rung_tables,
        min_gain=lo,
        max_gain=hi,
        ladder_count=ladder_count,
        ladder_value=ladder_value,
        gain_n=int(positive.size),
        gain_sum=moments[0],
        gain_sq_sum=moments[1],
    )


def merge_stats(parts: Sequence[ScheduleStats]) -> ScheduleStats:
    """The statistics of the union of disjoint sets of units (exact for every count)."""
    if len(parts) == 1:
        return parts[0]
    rungs = sorted({j for p in parts for j in p.rung_tables})
    ladder = sorted({j for p in parts for j in p.ladder_count})

    def total(tables: Sequence[OutcomeTables]) -> OutcomeTables:
        out = tables[0]
        for tb in tables[1:]:
            out = out + tb
        return out

    return ScheduleStats(
        responses=sum(p.responses for p in parts),
        units=sum(p.units for p in parts),
        cost_responses=sum(p.cost_responses for p in parts),
        paid_responses=sum(p.paid_responses for p in parts),
        aversive_responses=sum(p.aversive_responses for p in parts),
        any_tables=total([p.any_tables for p in parts]),
        cost_tables=total([p.cost_tables for p in parts]),
        none_tables=total([p.none_tables for p in parts]),
        rung_tables={j: total([p.tables_for_rung(j) for p in parts]) for j in rungs},
        min_gain=min(p.min_gain for p in parts),
        max_gain=max(p.max_gain for p in parts),
        ladder_count={j: sum(p.ladder_count.get(j, 0) for p in parts) for j in ladder},
        ladder_value={
            j: sum((p.ladder_value.get(j, Fraction(0)) for p in parts), Fraction(0)) for j in ladder
        },
        gain_n=sum(p.gain_n for p in parts),
        gain_sum=sum((p.gain_sum for p in parts), Fraction(0)),
        gain_sq_sum=sum((p.gain_sq_sum for p in parts), Fraction(0)),
    )
