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

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.calibration import (
    CALIBRATION_VERSION,
    calibrated_confidence,
    calibrated_slot_machine_confidence,
)
from models.schedule.classification import DEPENDENCE_MIN_LR, classify
from models.schedule.evidence import _interval_distribution, _ratio_distribution
from models.schedule.kinds import PREDICTABLE_KINDS, SLOT_MACHINE_KINDS
from models.schedule.life_tables import ScheduleStats
from models.schedule.states import rung_value

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
