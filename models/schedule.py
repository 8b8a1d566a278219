"""Which reinforcement schedule does a mechanic run? Pooled over its users.

Ferster & Skinner (1957) classify schedules by what makes a response pay: a count of responses
(ratio schedules) or the passage of time (interval schedules), fixed or variable. We read that
off the log as *hazards* — the probability that a response pays given the state it is made in:

- h(k):  k = responses since the last valuable outcome (1 for the first response after it).
         Flat: variable (random) ratio; zero then one at n: fixed ratio n; rising or capped:
         pity (a variable ratio with a guarantee, e.g. 0.6 % rising from the 74th pull to a
         certainty at the 90th).
- h(e):  e = time since the last valuable outcome. A step from 0 to 1 at T: fixed interval T.
- h(τ):  τ = time since the user's previous response. Rising: an interval schedule (rewards
         that accrue with time are collected by the next response; a Poisson variable interval
         gives P = 1 − exp(−λτ); the constant-probability variable interval is that of
         Fleshler & Hoffman 1962).
- h(d):  d = local calendar days since the last valuable outcome: a daily reward resets at
         midnight, a fixed interval on the calendar.

Hazards are life-table estimates: every response is one trial "at risk" in its state, so runs
that never ended in a reward (the user stopped first — most users do; many respond once)
contribute their at-risk trials without an event, i.e. they are censored, not dropped
(Kaplan & Meier 1958; the discrete-time hazard of Allison 1982). Mean responses per reward and
mean time between rewards come from the same life tables.

Valuable outcomes (magnitude lotteries) are decided on the magnitudes first: where nearly every
response pays something (loot boxes, gacha) and a top magnitude tier, several times the typical
payout, carries at least half of the paid value (a quarter for a jackpot tier at ≥ 10× the
typical payout) and is itself unpredictable, the valuable
outcomes are that tier — whatever the common item is priced at, so a paid box whose common item
is valued at its price is still the lottery it is. Otherwise, when responses cost something, a
response pays when its reward is at least its cost, and else when it pays at all. The tier
ratio and the value share are product choices (no published rarity-tier threshold exists). A
fixed payout carrying most of the value plus a rare random bonus stays a predictable schedule,
with the bonus reported as a variable component.

Every statistic here is a sum over responses, so each partition of users yields
`ScheduleStats` that add up exactly (`merge_stats`), and identification runs once on the sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import isotonic_regression, minimize_scalar
from scipy.stats import chi2

from models.calibration import (
    CALIBRATION_VERSION,
    calibrated_confidence,
    calibrated_slot_machine_confidence,
)
from models.exactsum import ExactSums
from models.kernels import life_table_counts
from models.segments import Segments

KINDS: tuple[str, ...] = (
    "continuous",
    "fixed_ratio",
    "variable_ratio",
    "pity",
    "fixed_interval",
    "variable_interval",
    "extinction",
    "insufficient_data",
)
SLOT_MACHINE_KINDS = frozenset({"variable_ratio", "pity"})
PREDICTABLE_KINDS = frozenset({"continuous", "fixed_ratio", "fixed_interval"})

# ---- binning (fixed, data-independent, so partitions add up)
K_MAX = 256  # exact count states 1..256, then one overflow state; pity caps are ≤ 90 in practice
N_COUNT = K_MAX + 1
TIME_LOG10_MIN, TIME_LOG10_MAX, TIME_PER_DECADE = -1.0, 8.0, 20  # 0.1 s .. 3 years, 12 % bins
N_TIME_REGULAR = round((TIME_LOG10_MAX - TIME_LOG10_MIN) * TIME_PER_DECADE)
N_TIME = N_TIME_REGULAR + 2  # + below 0.1 s, + above 3 years
TIME_UNDEFINED = N_TIME  # no previous reward / no previous response
N_TIME_ALL = N_TIME + 1
N_DAY = 4  # same calendar day, next day, two or more days later, undefined
N_TENURE = 32  # log₂ bins of the unit's response ordinal (1, 2–3, 4–7, …)
LADDER_PER_DECADE = 4  # magnitude tiers 10^(j/4): steps of 78 %

# ---- decision thresholds: each with its rationale and reference
# below this no hazard is estimable to ±0.1 (threshold chosen by us; discrete-time hazards as in
# Allison 1982, which sets no minimum)
MIN_SCHEDULE_RESPONSES = 50
# 0 valuable outcomes in 300 responses bounds p below 1 % (rule of three; Hanley 1983)
EXTINCTION_MIN_RESPONSES = 300
# … and unpaid runs must reach 100 responses: a leaner ratio is extinction in effect (ratio
# strain, described by Ferster & Skinner 1957; the depth of 100 is ours); shorter runs may hide
# an unseen fixed ratio
EXTINCTION_MIN_DEPTH = 100
# ≥ 95 % of responses reinforced counts as continuous reinforcement (every response is
# reinforced in Ferster & Skinner 1957; the 5 % tolerance is ours)
CONTINUOUS_MIN_RATE = 0.95
# fixed schedules pay (almost) never before their step and (almost) always at it
STEP_MAX_EARLY_SHARE = 0.02
STEP_MIN_UPPER_RATE = 0.9
# a step seen in fewer paid responses may be chance
STEP_MIN_WINS = 10
# isotonic likelihood ratio beyond the chi-bar-squared tail (≈1e-4 for ≤ 256 ordered states;
# Robertson, Wright & Dykstra 1988 ch. 2); calibrated on the flat hazards of the benchmark
DEPENDENCE_MIN_LR = 30.0
# one state variable must explain the hazard e^5 ≈ 150 times better than the other
DEPENDENCE_MARGIN = 10.0
# fewer valuable outcomes than this cannot exclude an interval schedule
VR_MIN_WINS = 10
# a flat hazard must beat the best interval schedule by a likelihood ratio ≥ 100, above the
# benchmark of 32 that Royall (1997) calls strong evidence (threshold chosen by us): a false
# slot-machine call is the worst error of this product
VR_MIN_EVIDENCE = float(np.log(100.0))
# a guarantee must at least double the base hazard to matter
PITY_MIN_RISE = 2.0
# pity pays at varying counts; a fixed ratio (even with too few rewards for a clean step) pays
# at one count only, so pity needs ≥ 3 rewards away from the modal count, counted after a first
# reward (immune to runs cut by the audit window)
PITY_MIN_OFF_MODE_WINS = 3
# pity pays at a positive base rate from the first response; a fixed ratio whose count restarts
# (each session, each day) never pays below n responses since the last reward. A "floor" — no
# reward below the first paying count although a tenth of that count's hazard would have
# produced ≥ 5 there (P(none) < 1 %) — rules pity out (measured after a first reward)
FLOOR_FRACTION = 0.1
FLOOR_MIN_EXPECTED = 5.0
# magnitude lotteries: nearly every response pays something …
LOTTERY_MIN_PAID_SHARE = 0.9
# … and either a tier ≥ LOTTERY_MIN_TIER_RATIO × the median payout carries at least half the
# paid value, or a jackpot tier ≥ JACKPOT_MIN_TIER_RATIO × the median carries at least a
# quarter. The second arm keeps the call off a knife edge: a 1 % tier worth 100× the common
# item carries half the value in expectation (40–60 % in a sample), while a fixed payout with a
# bonus of 2–5× carries under half in a bonus that is no jackpot, so neither case sits near a
# threshold it needs. Product choices; no published rarity-tier threshold exists
LOTTERY_VALUE_SHARE = 0.5
JACKPOT_VALUE_SHARE = 0.25
JACKPOT_MIN_TIER_RATIO = 10.0
LOTTERY_MIN_TIER_RATIO = 3.0
# a bonus pays at least twice the typical payout, on between 0.5 % and 50 % of responses
BONUS_MIN_RATIO = 2.0
BONUS_RATE_RANGE = (0.005, 0.5)


def time_bin(x: NDArray[np.float64]) -> NDArray[np.int64]:
    """(n,) log-time bin of durations x ≥ 0 (seconds); NaN → TIME_UNDEFINED.

    The bin is ⌊(log₁₀ max(x, 10⁻³⁰⁰) + 1)·20⌋ + 1, clipped to [0, N_TIME)."""
    out = np.full(x.shape[0], TIME_UNDEFINED, dtype=np.int64)
    ok = np.flatnonzero(np.isfinite(x))
    out[ok] = _finite_time_bin(x[ok])
    return out


_BIN_SCALE = np.float32(TIME_PER_DECADE / np.log(10.0))
_BIN_OFFSET = np.float32(1.0 - TIME_LOG10_MIN * TIME_PER_DECADE)


def _finite_time_bin(x: NDArray[np.float64]) -> NDArray[np.int32]:
    """`time_bin` of finite durations x ≥ 0, found with a single-precision logarithm (several
    times faster) and recomputed in double precision where that lands within 10⁻³ of a bin
    edge — far beyond single precision's error here (≈ 10⁻⁴) — so every bin is exactly the
    double-precision one."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = np.log(x.astype(np.float32))
        z *= _BIN_SCALE
        z += _BIN_OFFSET  # ⌊z⌋ is the bin
        # half a bin beyond either end is surely outside (and never near an edge)
        np.clip(z, np.float32(-0.5), np.float32(N_TIME - 0.5), out=z)
        whole = np.floor(z)
        z -= whole
        z -= np.float32(0.5)
        edge = np.flatnonzero(~(np.abs(z) < np.float32(0.5 - 1e-3)))
        exact = np.floor((np.log10(np.maximum(x[edge], 1e-300)) - TIME_LOG10_MIN) * TIME_PER_DECADE)
    out = np.maximum(whole.astype(np.int32), 0)
    out[edge] = np.clip(exact + 1, 0, N_TIME - 1).astype(np.int32)
    return out


def time_bin_mid() -> NDArray[np.float64]:
    """(N_TIME,) representative duration of each time bin (geometric centre)."""
    i = np.arange(N_TIME, dtype=np.float64)
    mid = 10.0 ** (TIME_LOG10_MIN + (i - 0.5) / TIME_PER_DECADE)
    mid[0] = 10.0**TIME_LOG10_MIN / 2.0
    mid[-1] = 10.0**TIME_LOG10_MAX * 1.5
    return mid


def time_bin_lower(i: int) -> float:
    """Lower edge (seconds) of time bin i."""
    return 0.0 if i <= 0 else float(10.0 ** (TIME_LOG10_MIN + (i - 1) / TIME_PER_DECADE))


def rung_value(j: int | NDArray[np.int64]) -> Any:
    """Magnitude threshold of ladder rung j: 10^(j/4)."""
    return 10.0 ** (np.asarray(j, dtype=np.float64) / LADDER_PER_DECADE)


def rung_index(m: NDArray[np.float64]) -> NDArray[np.int64]:
    """(n,) the rung j with rung_value(j) ≤ m < rung_value(j+1), for m > 0."""
    j = np.floor(np.log10(m) * LADDER_PER_DECADE).astype(np.int64)
    j = np.where(m >= rung_value(j + 1), j + 1, j)
    return np.asarray(np.where(m < rung_value(j), j - 1, j), dtype=np.int64)


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
    (`models.kernels.life_table_counts`: per row, the responses since the unit's last valuable
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


# ---------------------------------------------------------------- likelihood helpers


def _binom_ll(w: NDArray[np.float64], n: NDArray[np.float64], p: NDArray[np.float64]) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(w > 0, w * np.log(np.where(p > 0, p, 1.0)), 0.0)
        b = np.where(n - w > 0, (n - w) * np.log(np.where(p < 1, 1.0 - p, 1.0)), 0.0)
        bad = ((w > 0) & (p <= 0)) | ((n - w > 0) & (p >= 1))
    return float(-np.inf) if bool(bad.any()) else float(a.sum() + b.sum())


def _const_ll(w: NDArray[np.int64], n: NDArray[np.int64]) -> float:
    tw, tn = float(w.sum()), float(n.sum())
    if tn == 0:
        return 0.0
    return _binom_ll(np.array([tw]), np.array([tn]), np.array([tw / tn]))


def _monotone_lrs(w: NDArray[np.int64], n: NDArray[np.int64]) -> tuple[float, float]:
    """Likelihood-ratio statistics of a non-decreasing and of a non-increasing hazard against
    a constant one."""
    ll0 = _const_ll(w, n)
    _, up = _isotonic(w, n)
    _, down = _isotonic(w[::-1], n[::-1])
    return 2.0 * (up - ll0), 2.0 * (down - ll0)


def _within_lrs(w: NDArray[np.int64], expected: NDArray[np.float64]) -> tuple[float, float]:
    """Within-user likelihood-ratio statistics of a rising and of a falling relative hazard.

    Each bin's valuable outcomes are Poisson with mean ρ_b·x_b, x_b the count expected if every
    unit paid at its own constant rate (a stratified, Mantel-Haenszel-type null; Breslow & Day
    1980 ch. 4). ρ monotone is the weighted isotonic regression of w/x with weights x.
    """
    keep = expected > 1e-12
    wk, xk = w[keep].astype(np.float64), expected[keep]
    if xk.size < 2 or wk.sum() == 0:
        return 0.0, 0.0
    rho0 = wk.sum() / xk.sum()

    # x_b are float sums whose rounding depends on how users were partitioned; a statistic
    # within rounding noise of zero (relative to the log-likelihood's size) is zero
    noise = 1e-9 * max(1.0, float(wk.sum()))

    def lr(wv: NDArray[np.float64], xv: NDArray[np.float64]) -> float:
        rho = _pava(wv / xv, xv)
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(wv > 0, wv * np.log(rho / rho0), 0.0)
        stat = float(2.0 * (term.sum() - ((rho - rho0) * xv).sum()))
        return stat if stat > noise else 0.0

    return lr(wk, xk), lr(wk[::-1], xk[::-1])


def _pava(y: NDArray[np.float64], weight: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weighted non-decreasing least-squares fit: pool-adjacent-violators (Ayer et al. 1955),
    by `scipy.optimize.isotonic_regression`."""
    if y.shape[0] == 0:
        return np.zeros(0)
    return np.asarray(isotonic_regression(y, weights=weight, increasing=True).x, dtype=np.float64)


def _isotonic(w: NDArray[np.int64], n: NDArray[np.int64]) -> tuple[NDArray[np.float64], float]:
    """Non-decreasing hazard fit (pool-adjacent-violators, weights n) and its log-likelihood.

    Returns the fitted rate per bin (NaN where n = 0) and the maximised log-likelihood
    (Robertson, Wright & Dykstra 1988, ch. 1).
    """
    keep = np.flatnonzero(n > 0)
    rates = np.full(n.shape[0], np.nan)
    if keep.size == 0:
        return rates, 0.0
    fitted = _pava(w[keep] / n[keep], n[keep].astype(np.float64))
    rates[keep] = fitted
    ll = _binom_ll(w[keep].astype(np.float64), n[keep].astype(np.float64), fitted)
    return rates, ll


@dataclass(frozen=True, slots=True)
class _Step:
    cut: int  # first bin of the upper level
    early_share: float  # share of valuable outcomes before the cut
    lower_rate: float
    upper_rate: float
    purity: float  # min(1 − lower_rate, upper_rate)
    loglik: float


def _step(w: NDArray[np.int64], n: NDArray[np.int64], *, straddle: bool) -> _Step | None:
    """Best two-level step in a hazard: rate ≈ 0 before the cut, ≈ 1 from it.

    With `straddle`, the bin at the cut is left out of both levels (a time bin that contains
    the step holds both unpaid and paid responses). The cut minimises misclassified responses.
    """
    wf, nf = w.astype(np.float64), n.astype(np.float64)
    size = w.shape[0]
    if wf.sum() == 0 or size <= 1:
        return None
    cw, cn = np.cumsum(wf), np.cumsum(nf)
    tw, tn = cw[-1], cn[-1]
    cuts = np.arange(1, size)
    below_w = cw[cuts - 1]
    below_n = cn[cuts - 1]
    skip_w = wf[cuts] if straddle else np.zeros(cuts.shape[0])
    skip_n = nf[cuts] if straddle else np.zeros(cuts.shape[0])
    above_w = tw - below_w - skip_w
    above_n = tn - below_n - skip_n
    errors = below_w + (above_n - above_w)
    errors = np.where(above_n > 0, errors, np.inf)
    if not np.isfinite(errors).any():
        return None
    i = int(np.argmin(errors))
    lw, ln, uw, un = below_w[i], below_n[i], above_w[i], above_n[i]
    if uw < STEP_MIN_WINS or ln < STEP_MIN_WINS:
        return None  # both levels must be observed
    lower = lw / ln if ln > 0 else 0.0
    upper = uw / un if un > 0 else 0.0
    ll = _binom_ll(np.array([lw, uw]), np.array([ln, un]), np.array([lower, upper]))
    return _Step(
        cut=int(cuts[i]),
        early_share=float(lw / max(lw + uw, 1.0)),
        lower_rate=float(lower),
        upper_rate=float(upper),
        purity=float(min(1.0 - lower, upper)),
        loglik=ll,
    )


def _poisson_interval_ll(w: NDArray[np.int64], n: NDArray[np.int64]) -> float:
    """Max log-likelihood of P(pay | τ) = 1 − exp(−λτ) over the time bins (λ fitted).

    The hazard of collecting a reward that accrues as a Poisson process of rate λ (or is armed
    after an exponential interval) τ seconds after the previous response.
    """
    mids = time_bin_mid()
    wf, nf = w[:N_TIME].astype(np.float64), n[:N_TIME].astype(np.float64)
    keep = nf > 0
    if not keep.any():
        return 0.0
    tau, wk, nk = mids[keep], wf[keep], nf[keep]

    def negll(log_lam: float) -> float:
        lam_tau = np.exp(log_lam) * tau
        p_pay = -np.expm1(-lam_tau)
        with np.errstate(divide="ignore"):
            ll = wk * np.log(np.maximum(p_pay, 1e-300)) - (nk - wk) * lam_tau
        return float(-ll.sum())

    grid = np.linspace(-25.0, 10.0, 71)
    vals = [negll(g) for g in grid]
    g0 = int(np.argmin(vals))
    lo, hi = grid[max(g0 - 1, 0)], grid[min(g0 + 1, grid.shape[0] - 1)]
    res = minimize_scalar(negll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-6})
    return float(-min(float(res.fun), vals[g0]))


def _ratio_distribution(w: NDArray[np.int64], n: NDArray[np.int64]) -> tuple[float, float, bool]:
    """Mean and CV of responses per valuable outcome from the count life table.

    P(K = k) = S(k−1)·h(k), S(k) = Πⱼ≤ₖ (1 − h(j)), with a geometric tail beyond the observed
    states at the hazard of the last quarter of them. Returns (mean, cv, complete); complete is
    False when the tail hazard is zero (mean then restricted to the observed support).
    """
    wf, nf = w.astype(np.float64), n.astype(np.float64)
    observed = np.flatnonzero(nf > 0)
    if observed.size == 0 or wf.sum() == 0:
        return float("nan"), float("nan"), False
    top = int(observed[-1])
    k = np.arange(1, top + 2, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(nf[: top + 1] > 0, wf[: top + 1] / nf[: top + 1], 0.0)
    surv = np.concatenate([[1.0], np.cumprod(1.0 - h)])
    pk = surv[:-1] * h
    m1 = float((pk * k).sum())
    m2 = float((pk * k * k).sum())
    tail = float(surv[-1])
    complete = True
    if tail > 1e-9:
        last = observed[-max(1, observed.size // 4) :]
        ht = float(wf[last].sum() / nf[last].sum())
        if ht > 0:
            # K = top+1 + G, G ~ geometric(ht) on {1, 2, …}: E = 1/ht, E[G²] = (2 − ht)/ht²
            base = top + 1.0
            e1 = base + 1.0 / ht
            e2 = base * base + 2.0 * base / ht + (2.0 - ht) / (ht * ht)
            m1 += tail * e1
            m2 += tail * e2
        else:
            complete = False
            m1 /= 1.0 - tail
            m2 /= 1.0 - tail
    var = max(m2 - m1 * m1, 0.0)
    return m1, float(np.sqrt(var) / m1) if m1 > 0 else float("nan"), complete


def _interval_distribution(
    event: NDArray[np.int64], censored: NDArray[np.int64]
) -> tuple[float, float, bool]:
    """Mean and CV of the time between valuable outcomes from an actuarial life table.

    At risk at the start of bin i: all intervals not yet ended or censored; censored ones count
    half in their bin (Cutler & Ederer 1958). Restricted to the observed support when the last
    bin still has survivors (complete = False).
    """
    d, c = event.astype(np.float64), censored.astype(np.float64)
    total = d.sum() + c.sum()
    if d.sum() == 0:
        return float("nan"), float("nan"), False
    at_start = total - np.concatenate([[0.0], np.cumsum(d + c)[:-1]])
    at_risk = at_start - c / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(at_risk > 0, np.clip(d / at_risk, 0.0, 1.0), 0.0)
    surv = np.concatenate([[1.0], np.cumprod(1.0 - h)])
    pk = surv[:-1] * h
    mids = time_bin_mid()
    mass = pk.sum()
    m1 = float((pk * mids).sum() / mass)
    m2 = float((pk * mids * mids).sum() / mass)
    var = max(m2 - m1 * m1, 0.0)
    return m1, float(np.sqrt(var) / m1), bool(surv[-1] < 1e-6 or h[np.flatnonzero(d)[-1]] >= 1.0)


# ---------------------------------------------------------------- identification


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """The identified schedule of one mechanic (the report's `schedule`).

    confidence: the probability that `kind` is right, calibrated on simulated mechanics with
        known schedules (`models.calibration`); 0 for insufficient_data, which names no
        schedule. `evidence["raw_confidence"]` keeps the score it was calibrated from, and
        `evidence["calibration_version"]` names the map
    slot_machine_confidence: for a variable_ratio or pity call, the calibrated probability that
        the mechanic runs either (a slot machine, whichever of the two); 0 for other kinds
    outcome: which responses counted as valuable ("any reward", "reward ≥ cost", "reward ≥ X")
    hazard_k, hazard, hazard_at_risk: the count hazard h(k) for the report's chart
    reward_uncertainty: mean of p(1 − p) / 0.25 over responses, p the hazard of each response
        under the identified schedule: 1 when every response is a coin flip, 0 when the
        schedule makes every outcome predictable (Fiorillo, Tobler & Schultz 2003)
    bonus: a variable component beside a predictable schedule (None if there is none)
    """

    kind: str
    confidence: float
    slot_machine_confidence: float = 0.0
    reward_probability: float
    mean_ratio: float
    ratio_cv: float
    mean_interval_s: float
    interval_cv: float
    magnitude_cv: float
    outcome: str
    has_cost: bool
    aversive_share: float
    reward_uncertainty: float
    evidence: dict[str, Any] = field(default_factory=dict)
    bonus: dict[str, Any] | None = None
    hazard_k: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    hazard: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    hazard_at_risk: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


@dataclass(frozen=True, slots=True)
class _Call:
    """A call and its raw score: the step's purity for fixed schedules, the paid share for
    continuous, 1 − the 95 % upper bound of p for extinction, the logistic of the log-likelihood
    margin for pity, variable interval and variable ratio, 0 for insufficient_data. Scores of
    different kinds are on different scales; `models.calibration` turns them into the
    probability that the call is right."""

    kind: str
    raw_confidence: float
    uncertainty: float
    evidence: dict[str, Any]
    dependence: float = 0.0  # largest likelihood-ratio statistic of any hazard dependence


def _logistic_score(margin: float) -> float:
    """Posterior probability of the winning explanation against the runner-up at even prior
    odds, from their log-likelihood margin."""
    return float(1.0 / (1.0 + np.exp(-min(max(margin, -50.0), 50.0))))


def _uncertainty(rates: NDArray[np.float64], n: NDArray[np.int64]) -> float:
    nf = n.astype(np.float64)
    ok = (nf > 0) & np.isfinite(rates)
    if not ok.any():
        return float("nan")
    return float((nf[ok] * rates[ok] * (1.0 - rates[ok])).sum() / nf[ok].sum() / 0.25)


def _fixed_step(tables: OutcomeTables, ev: dict[str, Any]) -> _Call | None:
    """A clean step in count (fixed ratio) or in time or calendar days (fixed interval).

    The count step is also tried on responses after a unit's first valuable outcome only, so a
    fixed ratio whose first run was cut by the start of the audit window is still recognised.
    """
    candidates = [
        ("fixed_ratio", "count", _step(tables.count_w, tables.count_n, straddle=False)),
        ("fixed_ratio", "count_after_first", _step(tables.after_w, tables.after_n, straddle=False)),
        (
            "fixed_ratio",
            "count_in_session",
            _step(tables.session_w, tables.session_n, straddle=False),
        ),
        ("fixed_ratio", "count_in_day", _step(tables.daily_w, tables.daily_n, straddle=False)),
        (
            "fixed_interval",
            "elapsed",
            _step(tables.elapsed_w[:N_TIME], tables.elapsed_n[:N_TIME], straddle=True),
        ),
        (
            "fixed_interval",
            "calendar_day",
            _step(tables.day_w[:3], tables.day_n[:3], straddle=False),
        ),
        (
            "fixed_interval",
            "utc_calendar_day",
            _step(tables.utc_day_w[:3], tables.utc_day_n[:3], straddle=False),
        ),
    ]
    clean: list[tuple[str, str, _Step]] = []
    for kind, axis, st in candidates:
        if st is None:
            continue
        cut: float = float(st.cut + 1) if kind == "fixed_ratio" else float(st.cut)
        if axis == "elapsed":
            cut = time_bin_lower(st.cut)
        ev[f"step_{axis}"] = {
            "cut": cut,
            "early_share": st.early_share,
            "lower_rate": st.lower_rate,
            "upper_rate": st.upper_rate,
        }
        if st.early_share <= STEP_MAX_EARLY_SHARE and st.upper_rate >= STEP_MIN_UPPER_RATE:
            clean.append((kind, axis, st))
    if not clean:
        return None
    kind, axis, st = max(clean, key=lambda c: (c[2].purity, c[2].loglik))
    ev["step_axis"] = axis
    rates = np.array([st.lower_rate, st.upper_rate])
    return _Call(kind, st.purity, float((rates * (1 - rates)).max() / 0.25), ev)


def _count_floor(w: NDArray[np.int64], n: NDArray[np.int64]) -> int | None:
    """The first paying count k if the hazard is zero below it with enough evidence, else None."""
    paying = np.flatnonzero(w > 0)
    if paying.size == 0 or paying[0] == 0:
        return None
    c = int(paying[0])
    expected = FLOOR_FRACTION * (w[c] / n[c]) * n[:c].sum()
    return c + 1 if expected >= FLOOR_MIN_EXPECTED else None


def classify(tables: OutcomeTables) -> _Call:
    """Decide the schedule kind from one outcome definition's life tables.

    In order (each threshold is a named constant above):
    1. too few responses → insufficient_data;
    2. nothing valuable: extinction when the runs were long and many enough;
    3. almost everything valuable → continuous;
    4. a clean step in count or time → fixed ratio / fixed interval;
    5. the hazard rises with the count since the last reward, and count explains it better than
       elapsed or inter-response time → pity; rises with time and time explains it better →
       variable interval;
    6. no dependence at all (count since the last reward, in the session or in the day, time,
       tenure) *and* the best interval schedule is rejected
       by a likelihood ratio ≥ 100 → variable ratio;
    7. anything else is ambiguous → insufficient_data: never a guess.
    """
    n, w = tables.responses, tables.wins
    p = w / n if n else float("nan")
    ev: dict[str, Any] = {"responses": n, "valuable_outcomes": w}
    if n < MIN_SCHEDULE_RESPONSES:
        ev["reason"] = f"fewer than {MIN_SCHEDULE_RESPONSES} responses"
        return _Call("insufficient_data", 0.0, float("nan"), ev)
    if w == 0:
        depth = int(tables.count_n[EXTINCTION_MIN_DEPTH - 1 :].sum())
        ev["responses_deeper_than_100"] = depth
        if n >= EXTINCTION_MIN_RESPONSES and depth > 0:
            upper = 1.0 - 0.05 ** (1.0 / n)
            ev["p_upper_95"] = upper
            return _Call("extinction", 1.0 - upper, 0.0, ev)
        ev["reason"] = "no valuable outcome, but too few or too short runs to call extinction"
        return _Call("insufficient_data", 0.0, 0.0, ev)
    const_unc = p * (1.0 - p) / 0.25
    if p >= CONTINUOUS_MIN_RATE:
        return _Call("continuous", p, const_unc, ev)
    fixed = _fixed_step(tables, ev)
    if fixed is not None:
        return fixed

    # hazard dependence on each state variable (likelihood ratios of monotone fits)
    iso_k, _ = _isotonic(tables.count_w, tables.count_n)
    lr_count, lr_count_down = _monotone_lrs(tables.count_w, tables.count_n)
    lr_k_after, _ = _monotone_lrs(tables.after_w, tables.after_n)
    iso_e, _ = _isotonic(tables.elapsed_w[:N_TIME], tables.elapsed_n[:N_TIME])
    lr_e, lr_e_down = _monotone_lrs(tables.elapsed_w[:N_TIME], tables.elapsed_n[:N_TIME])
    # the count table without units' first responses (which have no inter-response time)
    kn, kw = tables.count_n.copy(), tables.count_w.copy()
    kn[0] -= tables.first_n[0]
    kw[0] -= tables.first_w[0]
    lr_k_not_first, _ = _monotone_lrs(kw, kn)
    iso_tau, _ = _isotonic(tables.irt_w[:N_TIME], tables.irt_n[:N_TIME])
    lr_tau, lr_tau_down = _monotone_lrs(tables.irt_w[:N_TIME], tables.irt_n[:N_TIME])
    lr_tenure, lr_tenure_down = _monotone_lrs(tables.tenure_w, tables.tenure_n)
    # the counts that restart with each session or local day: a fixed ratio that restarts
    # there (whose clean step an audit window can blur by cutting a session in two) has a
    # hazard that rises along them, however flat it looks since the last reward
    lr_session, _ = _monotone_lrs(tables.session_w, tables.session_n)
    lr_daily, _ = _monotone_lrs(tables.daily_w, tables.daily_n)
    # between-user differences (personalised odds, survivorship) can fake a dependence on
    # tempo or tenure; such a dependence must also hold within users
    lr_tau_within, _ = _within_lrs(tables.irt_w[:N_TIME], tables.irt_x[:N_TIME])
    lr_ten_within, lr_ten_within_down = _within_lrs(tables.tenure_w, tables.tenure_x)
    lr_tau = min(lr_tau, lr_tau_within)
    lr_tenure = min(lr_tenure, lr_ten_within)
    lr_tenure_down = min(lr_tenure_down, lr_ten_within_down)
    # strength of evidence against a Poisson interval schedule, in τ and in elapsed time
    margin_tau = _const_ll(tables.irt_w[:N_TIME], tables.irt_n[:N_TIME]) - _poisson_interval_ll(
        tables.irt_w, tables.irt_n
    )
    margin_e = (
        _const_ll(tables.elapsed_w[:N_TIME], tables.elapsed_n[:N_TIME])
        - _poisson_interval_ll(tables.elapsed_w, tables.elapsed_n)
        if tables.elapsed_w[:N_TIME].sum()
        else float("inf")
    )
    against_interval = min(margin_tau, margin_e)
    nonzero = tables.count_n > 0
    saturated = _binom_ll(
        tables.count_w[nonzero].astype(np.float64),
        tables.count_n[nonzero].astype(np.float64),
        tables.count_w[nonzero] / tables.count_n[nonzero],
    )
    gof_stat = 2.0 * (saturated - _const_ll(tables.count_w, tables.count_n))
    base = float(iso_k[np.flatnonzero(nonzero)[0]])
    rise = float(np.nanmax(iso_k)) / base if base > 0 else float("inf")
    ev |= {
        "lr_count": lr_count,
        "lr_count_after_first": lr_k_after,
        "lr_count_not_first": lr_k_not_first,
        "lr_elapsed": lr_e,
        "lr_irt": lr_tau,
        "lr_tenure": lr_tenure,
        "lr_count_in_session": lr_session,
        "lr_count_in_day": lr_daily,
        "lr_tenure_decreasing": lr_tenure_down,
        "lr_count_decreasing": lr_count_down,
        "lr_elapsed_decreasing": lr_e_down,
        "lr_irt_decreasing": lr_tau_down,
        "loglik_margin_vs_interval": against_interval,
        "geometric_gof_p": float(chi2.sf(gof_stat, max(int(nonzero.sum()) - 1, 1))),
        "hazard_rise": rise if np.isfinite(rise) else None,
    }
    no_after = tables.after_w.sum() == 0
    count_beats_time = (no_after or lr_k_after - lr_e >= DEPENDENCE_MARGIN) and (
        lr_k_not_first - lr_tau >= DEPENDENCE_MARGIN
    )
    time_lr = max(lr_e, lr_tau)
    time_beats_count = (lr_e - lr_k_after >= DEPENDENCE_MARGIN) or (
        lr_tau - lr_k_not_first >= DEPENDENCE_MARGIN
    )
    # decreasing count or time hazards are reported but do not veto a variable ratio: users with
    # different (e.g. personalised) odds pool into a falling hazard (frailty; Vaupel et al. 1979)
    dependence = max(lr_count, time_lr, lr_tenure, lr_tenure_down, lr_session, lr_daily)

    off_mode = int(tables.after_w.sum() - tables.after_w.max())
    floor = _count_floor(tables.after_w, tables.after_n)
    ev["rewards_off_modal_count"] = off_mode
    ev["count_floor"] = floor
    if (
        lr_count >= DEPENDENCE_MIN_LR
        and count_beats_time
        and rise >= PITY_MIN_RISE
        and off_mode >= PITY_MIN_OFF_MODE_WINS
        and floor is None
    ):
        margin = 0.5 * min(np.inf if no_after else lr_k_after - lr_e, lr_k_not_first - lr_tau)
        unc = _uncertainty(iso_k, tables.count_n)
        return _Call("pity", _logistic_score(margin), unc, ev, dependence)
    # an interval call needs, beside a monotone dependence on time, an interval schedule that
    # beats a constant hazard by the same strong evidence a variable ratio needs against it:
    # bursty human tempo makes isotonic fits over many time bins cross DEPENDENCE_MIN_LR by
    # chance now and then, but never makes a slot machine look like 1 − exp(−λτ)
    for_interval = -against_interval
    ev["loglik_margin_interval_vs_constant"] = for_interval
    if time_lr >= DEPENDENCE_MIN_LR and time_beats_count and for_interval >= VR_MIN_EVIDENCE:
        margin = 0.5 * max(lr_e - lr_k_after, lr_tau - lr_k_not_first)
        if lr_tau >= lr_e:
            unc = _uncertainty(iso_tau, tables.irt_n[:N_TIME])
        else:
            unc = _uncertainty(iso_e, tables.elapsed_n[:N_TIME])
        return _Call("variable_interval", _logistic_score(margin), unc, ev, dependence)
    if dependence < DEPENDENCE_MIN_LR and w >= VR_MIN_WINS and against_interval >= VR_MIN_EVIDENCE:
        margin = min(against_interval, 0.5 * (DEPENDENCE_MIN_LR - dependence))
        return _Call("variable_ratio", _logistic_score(margin), const_unc, ev, dependence)
    ev["reason"] = "ambiguous: neither a flat hazard nor a count or time dependence is established"
    return _Call("insufficient_data", 0.0, const_unc, ev, dependence)


def _cv(n: int, total: Fraction, squares: Fraction) -> float:
    """Coefficient of variation from exact Σx and Σx² (sample variance, n − 1)."""
    if n < 2 or total <= 0:
        return float("nan")
    variance = (squares - total * total / n) / (n - 1)
    return float(np.sqrt(float(max(variance, Fraction(0))))) / float(total / n)


def _rung_mean(stats: ScheduleStats, j: int) -> float:
    """The mean payout of ladder rung j (its exact value sum over its count)."""
    return float(stats.ladder_value[j] / stats.ladder_count[j])


def _median_payout(stats: ScheduleStats) -> float:
    """The typical payout: the mean payout of the ladder rung that holds the median payout.

    Rungs are 78 % wide, so a rung's lower edge can sit almost half below its payouts; its mean
    is within the rung and does not move with the currency unit."""
    if not stats.ladder_count:
        return float("nan")
    rungs = sorted(stats.ladder_count)
    counts = np.array([stats.ladder_count[j] for j in rungs], dtype=np.float64)
    half = int(np.searchsorted(np.cumsum(counts), counts.sum() / 2.0))
    return _rung_mean(stats, rungs[min(half, len(rungs) - 1)])


def _valuable_rung(stats: ScheduleStats, median_payout: float) -> int | None:
    """The lottery tier: from the highest ladder rung down, the first whose payouts and above
    carry ≥ LOTTERY_VALUE_SHARE of the paid value with the rung's mean payout ≥
    LOTTERY_MIN_TIER_RATIO × the median payout, or ≥ JACKPOT_VALUE_SHARE at ≥
    JACKPOT_MIN_TIER_RATIO × the median; None if no rung does. Ratios are of mean payouts, not
    of rung edges, so they do not move with the currency unit."""
    if not stats.ladder_value or not np.isfinite(median_payout):
        return None
    rungs = sorted(stats.ladder_value, reverse=True)
    total = sum(stats.ladder_value.values(), Fraction(0))
    running = Fraction(0)
    for j in rungs:
        running += stats.ladder_value[j]
        ratio = _rung_mean(stats, j) / median_payout
        if (
            running >= Fraction(LOTTERY_VALUE_SHARE) * total and ratio >= LOTTERY_MIN_TIER_RATIO
        ) or (running >= Fraction(JACKPOT_VALUE_SHARE) * total and ratio >= JACKPOT_MIN_TIER_RATIO):
            return int(j)
    return None


def identify(stats: ScheduleStats) -> Schedule:
    """Identify the schedule of one mechanic from its merged statistics."""
    has_cost = stats.cost_responses > 0
    paid_share = stats.paid_responses / stats.responses if stats.responses else 0.0
    median_payout = _median_payout(stats)
    outcome = "any reward"
    tables = stats.any_tables
    rung = _valuable_rung(stats, median_payout)
    lottery = False
    # a magnitude lottery is decided on the magnitudes first, whatever the common item is priced
    # at: a box whose common item is "worth" its price pays "≥ cost" on every open, which would
    # otherwise hide the rare tier that carries its value
    if rung is not None and paid_share >= LOTTERY_MIN_PAID_SHARE:
        # the valuable tier decides when it is itself unpredictable; a tier that falls with
        # tenure or follows a fixed pattern (front-loaded payouts) is not a lottery
        tier_call = classify(stats.tables_for_rung(rung))
        undetermined = (
            tier_call.kind == "insufficient_data" and tier_call.dependence < DEPENDENCE_MIN_LR
        )
        if tier_call.kind in SLOT_MACHINE_KINDS or undetermined:
            outcome = f"reward ≥ {float(rung_value(rung)):.4g}"
            tables = stats.tables_for_rung(rung)
            lottery = True
    if not lottery and has_cost and stats.cost_tables.wins > 0:
        outcome, tables = "reward ≥ cost", stats.cost_tables
    call = classify(tables)
    mean_ratio, ratio_cv, ratio_complete = _ratio_distribution(tables.count_w, tables.count_n)
    mean_int, int_cv, int_complete = _interval_distribution(tables.gap_event, tables.gap_censored)
    mag_cv = _cv(stats.gain_n, stats.gain_sum, stats.gain_sq_sum)
    evidence = dict(call.evidence)
    evidence |= {
        "raw_confidence": call.raw_confidence,
        "calibration_version": CALIBRATION_VERSION,
        "outcome": outcome,
        "users": stats.units,
        "paid_share": paid_share,
        "magnitude_lottery": lottery,
        "median_payout": median_payout,
        "ratio_estimate_complete": ratio_complete,
        "interval_estimate_complete": int_complete,
        "cost_share": stats.cost_responses / stats.responses if stats.responses else 0.0,
    }
    bonus = _bonus(stats, median_payout) if call.kind in PREDICTABLE_KINDS else None
    observed = np.flatnonzero(tables.count_n > 0)
    top = int(observed[-1]) + 1 if observed.size else 0
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = tables.count_w[:top] / tables.count_n[:top]
    return Schedule(
        kind=call.kind,
        confidence=calibrated_confidence(call.kind, call.raw_confidence),
        slot_machine_confidence=calibrated_slot_machine_confidence(call.kind, call.raw_confidence),
        reward_probability=tables.wins / tables.responses if tables.responses else float("nan"),
        mean_ratio=mean_ratio,
        ratio_cv=ratio_cv,
        mean_interval_s=mean_int,
        interval_cv=int_cv,
        magnitude_cv=mag_cv,
        outcome=outcome,
        has_cost=has_cost,
        aversive_share=stats.aversive_responses / stats.responses if stats.responses else 0.0,
        reward_uncertainty=call.uncertainty,
        evidence=evidence,
        bonus=bonus,
        hazard_k=np.arange(1, top + 1, dtype=np.int64),
        hazard=np.asarray(hazard, dtype=np.float64),
        hazard_at_risk=tables.count_n[:top].copy(),
    )


def _bonus(stats: ScheduleStats, median_payout: float) -> dict[str, Any] | None:
    """A variable bonus beside a predictable schedule: the lowest rung ≥ 2× the median payout
    that pays on 0.5–50 % of responses and whose own schedule is variable."""
    if not np.isfinite(median_payout) or not stats.ladder_value:
        return None
    total_value = sum(stats.ladder_value.values(), Fraction(0))
    for j in sorted(stats.ladder_value):
        if _rung_mean(stats, j) < BONUS_MIN_RATIO * median_payout:
            continue
        tables = stats.tables_for_rung(j)
        rate = tables.wins / tables.responses if tables.responses else 0.0
        if not (BONUS_RATE_RANGE[0] <= rate <= BONUS_RATE_RANGE[1]):
            continue
        call = classify(tables)
        share = float(
            sum((v for r, v in stats.ladder_value.items() if r >= j), Fraction(0)) / total_value
        )
        if (
            call.kind in ("variable_ratio", "pity", "variable_interval")
            and share < LOTTERY_VALUE_SHARE
        ):
            return {
                "threshold": float(rung_value(j)),
                "rate": rate,
                "value_share": share,
                "kind": call.kind,
            }
        return None
    return None
