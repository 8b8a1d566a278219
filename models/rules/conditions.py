"""The condition of each rule: a small function keyed by the rule id, comparing the facts of a
mechanic against the thresholds of the rule's row — never against a number of its own."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.markers import top_share
from models.risk import FDR_Q
from models.rules.facts import MechanicFacts
from models.rules.table import SEVERITIES, Rule
from models.schedule import SLOT_MACHINE_KINDS


@dataclass(frozen=True, slots=True)
class _Unassessable:
    reason: str
    evidence: dict[str, Any]


def _defined(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return x[np.isfinite(x)]


def _median(x: NDArray[np.float64]) -> float:
    v = _defined(x)
    return float(np.median(v)) if v.size else float("nan")


def _raise(severity: str, steps: int) -> str:
    return SEVERITIES[min(SEVERITIES.index(severity) + steps, len(SEVERITIES) - 1)]


_Outcome = tuple[str, dict[str, Any]] | _Unassessable | None


def _variable_ratio(rule: Rule, f: MechanicFacts) -> _Outcome:
    if f.kind not in SLOT_MACHINE_KINDS or f.slot_machine_confidence < rule.threshold(
        "min_confidence"
    ):
        return None
    wide = math.isfinite(f.magnitude_cv) and f.magnitude_cv >= rule.threshold("wide_magnitude_cv")
    severity = _raise(rule.severity, int(f.has_cost) + int(wide))
    return severity, {
        "kind": f.kind,
        "confidence": f.confidence,
        "slot_machine_confidence": f.slot_machine_confidence,
        "reward_probability": f.reward_probability,
        "mean_ratio": f.mean_ratio,
        "magnitude_cv": f.magnitude_cv,
        "responses_cost": f.has_cost,
        "valuable_outcome": f.outcome,
    }


def _mix(rule: Rule, f: MechanicFacts) -> _Outcome:
    if f.kind not in ("continuous", "fixed_ratio", "fixed_interval") or f.bonus is None:
        return None
    if f.bonus["value_share"] > rule.threshold("max_bonus_value_share"):
        return None
    return rule.severity, {"kind": f.kind, "bonus": f.bonus}


def _rpe_max(rule: Rule, f: MechanicFacts) -> _Outcome:
    pers = _defined(f.rpe_persistence)
    if pers.size < rule.threshold("min_users") or not math.isfinite(f.reward_uncertainty):
        return None
    median = float(np.median(pers))
    if median < rule.threshold("min_rpe_persistence"):
        return None
    if f.reward_uncertainty < rule.threshold("min_reward_uncertainty"):
        return None
    return _raise(rule.severity, int(f.has_cost)), {
        "rpe_persistence_median": median,
        "reward_uncertainty": f.reward_uncertainty,
        "reward_probability": f.reward_probability,
        "users": int(pers.size),
    }


def _engagement_trend(f: MechanicFacts) -> float:
    return min(_median(f.session_escalation), _median(f.frequency_escalation))


def _exploration_stuck(rule: Rule, f: MechanicFacts) -> _Outcome:
    conc = _defined(f.option_concentration)
    if conc.size < rule.threshold("min_users"):
        return None
    concentration = float(np.median(conc))
    falling_reward = _median(f.front_loading)
    trend = _engagement_trend(f)
    if not (
        concentration >= rule.threshold("min_option_concentration")
        and falling_reward >= rule.threshold("min_front_loading")
        and trend <= rule.threshold("max_engagement_trend")
    ):
        return None
    return rule.severity, {
        "option_concentration_median": concentration,
        "front_loading_median": falling_reward,
        "engagement_trend": trend,
        "users": int(conc.size),
    }


def _anhedonia(rule: Rule, f: MechanicFacts) -> _Outcome:
    balance = _defined(f.rpe_balance)
    if balance.size < rule.threshold("min_users"):
        return None
    share = float((balance <= rule.threshold("rpe_balance")).mean())
    trend = _engagement_trend(f)
    if share < rule.threshold("min_user_share") or not trend <= rule.threshold(
        "max_engagement_trend"
    ):
        return None
    return rule.severity, {
        "negative_rpe_user_share": share,
        "rpe_balance_median": float(np.median(balance)),
        "engagement_trend": trend,
        "front_loading_median": _median(f.front_loading),
        "users": int(balance.size),
    }


def _loss_chasing(rule: Rule, f: MechanicFacts) -> _Outcome:
    if not f.has_cost:
        return _Unassessable("responses cost nothing: there is no stake to chase losses with", {})
    tested = int(f.chase_tested.sum())
    if tested < rule.threshold("min_tested_users"):
        return _Unassessable(
            "too few users with stake changes after both losses and wins",
            {"tested_users": tested},
        )
    effects = f.chase_effect[f.chase_tested]
    if not np.any(effects != 0):
        return _Unassessable("stakes never change: chasing by stake cannot be observed", {})
    chasers = int(f.chase_flagged.sum())
    share = chasers / tested
    if share < rule.threshold("min_share") or chasers < rule.threshold("min_flagged_users"):
        return None
    return rule.severity, {
        "loss_chasing_share": share,
        "loss_chasers": chasers,
        "tested_users": tested,
        "false_discovery_rate": FDR_Q,
        "stake_log_change_median_of_chasers": _median(
            np.where(f.chase_flagged, f.chase_effect, np.nan)
        ),
    }


def _spend(rule: Rule, f: MechanicFacts) -> _Outcome:
    spend = f.spend[f.spend > 0]
    if spend.size < rule.threshold("min_spenders"):
        return None
    top10, top1 = top_share(spend, 0.10), top_share(spend, 0.01)
    if top10 < rule.threshold("min_top10_share"):
        return None
    severity = _raise(rule.severity, int(top1 >= rule.threshold("high_top1_share")))
    return severity, {
        "spend_top10_share": top10,
        "spend_top1_share": top1,
        "spenders": int(spend.size),
        "total_spend": float(spend.sum()),
    }


def _night(rule: Rule, f: MechanicFacts) -> _Outcome:
    tested = int(f.night_tested.sum())
    if tested < rule.threshold("min_users"):
        evidence = {"local_time_share": f.local_time_share, "assessable_users": tested}
        if not f.local_time_share >= 0.5:
            return _Unassessable(
                "local time unknown: too few users send their zone offset and the project "
                "declares no time zone",
                evidence,
            )
        return _Unassessable(
            "too few users with enough sessions of known local time to test night play",
            evidence,
        )
    night = _defined(f.night_share)
    share = float(f.night_flagged.sum() / tested)
    if share < rule.threshold("min_user_share") or f.night_flagged.sum() < rule.threshold(
        "min_flagged_users"
    ):
        return None
    return rule.severity, {
        "night_user_share": share,
        "night_users": int(f.night_flagged.sum()),
        "assessable_users": tested,
        "false_discovery_rate": FDR_Q,
        "night_share_median": float(np.median(night)) if night.size else float("nan"),
        "local_time_share": f.local_time_share,
    }


def _escalation(rule: Rule, f: MechanicFacts) -> _Outcome:
    length = _defined(f.session_escalation)
    freq = _defined(f.frequency_escalation)
    if max(length.size, freq.size) < rule.threshold("min_users"):
        return None
    m_len = float(np.median(length)) if length.size >= rule.threshold("min_users") else float("nan")
    m_freq = float(np.median(freq)) if freq.size >= rule.threshold("min_users") else float("nan")
    limit = rule.threshold("min_log_change")
    if not (m_len >= limit or m_freq >= limit):
        return None
    return rule.severity, {
        "session_length_change_median": m_len,
        "session_frequency_change_median": m_freq,
        "users": int(max(length.size, freq.size)),
    }


def _appointment(rule: Rule, f: MechanicFacts) -> _Outcome:
    if f.kind != "fixed_interval" or not f.mean_interval_s >= rule.threshold("min_interval_s"):
        return None
    aversive = f.aversive_share > rule.threshold("max_aversive_share")
    return _raise(rule.severity, int(aversive)), {
        "mean_interval_s": f.mean_interval_s,
        "aversive_share": f.aversive_share,
        "streak_loss": aversive,
        "aversive_expectation_median": _median(f.aversive_expectation),
    }


def _disguised_losses(rule: Rule, f: MechanicFacts) -> _Outcome:
    if not f.has_cost or not math.isfinite(f.disguised_loss_share):
        return None
    if f.disguised_loss_share < rule.threshold("min_share"):
        return None
    return rule.severity, {"disguised_loss_share": f.disguised_loss_share, "kind": f.kind}


CONDITIONS: dict[str, Callable[[Rule, MechanicFacts], _Outcome]] = {
    "variable-ratio-reward": _variable_ratio,
    "predictable-unpredictable-mix": _mix,
    "rpe-maximization": _rpe_max,
    "exploration-stuck": _exploration_stuck,
    "anhedonia-signature": _anhedonia,
    "loss-chasing": _loss_chasing,
    "spend-concentration": _spend,
    "night-engagement": _night,
    "session-escalation": _escalation,
    "playing-by-appointment": _appointment,
    "losses-disguised-as-wins": _disguised_losses,
}
