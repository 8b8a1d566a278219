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
from models.markers.glossary import human, term
from models.risk import FDR_Q
from models.rules.facts import Criterion, MechanicFacts, SeverityStep
from models.rules.table import SEVERITIES, Rule
from models.schedule import SLOT_MACHINE_KINDS
from models.schedule.kinds import PREDICTABLE_KINDS


@dataclass(frozen=True, slots=True)
class _Unassessable:
    reason: str
    evidence: dict[str, Any]


def _defined(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return x[np.isfinite(x)]


def _median(x: NDArray[np.float64]) -> float:
    v = _defined(x)
    return float(np.median(v)) if v.size else float("nan")


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">=": lambda v, t: bool(v >= t),
    ">": lambda v, t: bool(v > t),
    "<=": lambda v, t: bool(v <= t),
    "<": lambda v, t: bool(v < t),
    "is": lambda v, t: bool(v == t),
    "is one of": lambda v, t: v in t,
}


@dataclass(frozen=True, slots=True)
class _Fired:
    severity: str
    evidence: dict[str, Any]
    criteria: tuple[Criterion, ...]
    steps: tuple[SeverityStep, ...]


class _Trace:
    """The conditions of one rule as it is evaluated: each comparison that holds becomes a
    criterion (its threshold read from the rule's row), each raise a severity step."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.criteria: list[Criterion] = []
        self.raises: list[str] = []

    def met(
        self,
        marker: str,
        value: Any,
        comparison: str,
        name: str,
        users_counted: dict[str, Any] | None = None,
    ) -> bool:
        """Whether `value` compares with the rule's threshold `name`; recorded if it does."""
        threshold = self.rule.threshold(name)
        return self._check(marker, value, comparison, threshold, name, users_counted)

    def fact(self, marker: str, value: Any, comparison: str, expected: Any) -> bool:
        """Whether a fact of the mechanic (a kind, a flag) is what the rule needs."""
        return self._check(marker, value, comparison, expected, None, None)

    def _check(
        self,
        marker: str,
        value: Any,
        comparison: str,
        threshold: Any,
        name: str | None,
        users_counted: dict[str, Any] | None,
    ) -> bool:
        if not _COMPARE[comparison](value, threshold):
            return False
        self.criteria.append(
            Criterion(
                marker=marker,
                value=value,
                comparison=comparison,
                threshold=threshold,
                threshold_name=name,
                unit=term(marker).unit,
                users_counted=users_counted,
            )
        )
        return True

    def raise_if(self, holds: bool, reason: str) -> None:
        if holds:
            self.raises.append(reason)

    def cost_raise(self, f: MechanicFacts) -> None:
        self.raise_if(
            f.has_cost,
            f"responses cost money ({human('cost_share', f.cost_share)} of responses carry a cost)",
        )

    def fired(self, evidence: dict[str, Any]) -> _Fired:
        rule = self.rule
        steps = [SeverityStep(severity=rule.severity, reason=f"base severity of {rule.rule_id}")]
        for reason in self.raises:
            rank = SEVERITIES.index(steps[-1].severity)
            if rank + 1 < len(SEVERITIES):
                steps.append(SeverityStep(severity=SEVERITIES[rank + 1], reason=f"+1: {reason}"))
            else:
                steps.append(
                    SeverityStep(
                        severity=SEVERITIES[rank], reason=f"+0 (already the highest): {reason}"
                    )
                )
        return _Fired(
            severity=steps[-1].severity,
            evidence=evidence,
            criteria=tuple(self.criteria),
            steps=tuple(steps),
        )


_Outcome = _Fired | _Unassessable | None


def _variable_ratio(rule: Rule, f: MechanicFacts) -> _Outcome:
    c = _Trace(rule)
    if not (
        c.fact("kind", f.kind, "is one of", sorted(SLOT_MACHINE_KINDS))
        and c.met("slot_machine_confidence", f.slot_machine_confidence, ">=", "min_confidence")
    ):
        return None
    c.cost_raise(f)
    wide = math.isfinite(f.magnitude_cv) and c.met(
        "magnitude_cv", f.magnitude_cv, ">=", "wide_magnitude_cv"
    )
    c.raise_if(
        wide,
        f"payouts vary widely (coefficient of variation {human('magnitude_cv', f.magnitude_cv)}"
        f" ≥ {human('magnitude_cv', rule.threshold('wide_magnitude_cv'))})",
    )
    return c.fired(
        {
            "kind": f.kind,
            "confidence": f.confidence,
            "slot_machine_confidence": f.slot_machine_confidence,
            "reward_probability": f.reward_probability,
            "mean_ratio": f.mean_ratio,
            "magnitude_cv": f.magnitude_cv,
            "responses_cost": f.has_cost,
            "valuable_outcome": f.outcome,
        }
    )


def _mix(rule: Rule, f: MechanicFacts) -> _Outcome:
    c = _Trace(rule)
    if f.bonus is None or not c.fact("kind", f.kind, "is one of", sorted(PREDICTABLE_KINDS)):
        return None
    if not c.met("bonus_value_share", f.bonus["value_share"], "<=", "max_bonus_value_share"):
        return None
    return c.fired({"kind": f.kind, "bonus": f.bonus})


def _rpe_max(rule: Rule, f: MechanicFacts) -> _Outcome:
    c = _Trace(rule)
    pers = _defined(f.rpe_persistence)
    if not c.met("users", int(pers.size), ">=", "min_users") or not math.isfinite(
        f.reward_uncertainty
    ):
        return None
    median = float(np.median(pers))
    if not c.met("rpe_persistence_median", median, ">=", "min_rpe_persistence"):
        return None
    if not c.met("reward_uncertainty", f.reward_uncertainty, ">=", "min_reward_uncertainty"):
        return None
    c.cost_raise(f)
    return c.fired(
        {
            "rpe_persistence_median": median,
            "reward_uncertainty": f.reward_uncertainty,
            "reward_probability": f.reward_probability,
            "users": int(pers.size),
        }
    )


def _engagement_trend(f: MechanicFacts) -> float:
    return min(_median(f.session_escalation), _median(f.frequency_escalation))


def _exploration_stuck(rule: Rule, f: MechanicFacts) -> _Outcome:
    c = _Trace(rule)
    conc = _defined(f.option_concentration)
    if not c.met("users", int(conc.size), ">=", "min_users"):
        return None
    concentration = float(np.median(conc))
    falling_reward = _median(f.front_loading)
    trend = _engagement_trend(f)
    if not (
        c.met("option_concentration_median", concentration, ">=", "min_option_concentration")
        and c.met("front_loading_median", falling_reward, ">=", "min_front_loading")
        and c.met("engagement_trend", trend, "<=", "max_engagement_trend")
    ):
        return None
    return c.fired(
        {
            "option_concentration_median": concentration,
            "front_loading_median": falling_reward,
            "engagement_trend": trend,
            "users": int(conc.size),
        }
    )


def _anhedonia(rule: Rule, f: MechanicFacts) -> _Outcome:
    c = _Trace(rule)
    balance = _defined(f.rpe_balance)
    if not c.met("users", int(balance.size), ">=", "min_users"):
        return None
    cut = rule.threshold("rpe_balance")
    share = float((balance <= cut).mean())
    counted = {
        "marker": "rpe_balance",
        "comparison": "<=",
        "threshold": cut,
        "threshold_name": "rpe_balance",
    }
    trend = _engagement_trend(f)
    if not (
        c.met("negative_rpe_user_share", share, ">=", "min_user_share", counted)
        and c.met("engagement_trend", trend, "<=", "max_engagement_trend")
    ):
        return None
    return c.fired(
        {
            "negative_rpe_user_share": share,
            "rpe_balance_median": float(np.median(balance)),
            "engagement_trend": trend,
            "front_loading_median": _median(f.front_loading),
            "users": int(balance.size),
        }
    )


def _loss_chasing(rule: Rule, f: MechanicFacts) -> _Outcome:
    c = _Trace(rule)
    if not c.fact("responses_cost", f.has_cost, "is", True):
        return _Unassessable("responses cost nothing: there is no stake to chase losses with", {})
    tested = int(f.chase_tested.sum())
    if not c.met("tested_users", tested, ">=", "min_tested_users"):
        return _Unassessable(
            "too few users with stake changes after both losses and wins",
            {"tested_users": tested},
        )
    effects = f.chase_effect[f.chase_tested]
    if not np.any(effects != 0):
        return _Unassessable("stakes never change: chasing by stake cannot be observed", {})
    chasers = int(f.chase_flagged.sum())
    share = chasers / tested
    if not (
        c.met("loss_chasing_share", share, ">=", "min_share")
        and c.met("loss_chasers", chasers, ">=", "min_flagged_users")
    ):
        return None
    return c.fired(
        {
            "loss_chasing_share": share,
            "loss_chasers": chasers,
            "tested_users": tested,
            "false_discovery_rate": FDR_Q,
            "stake_log_change_median_of_chasers": _median(
                np.where(f.chase_flagged, f.chase_effect, np.nan)
            ),
        }
    )


def _spend(rule: Rule, f: MechanicFacts) -> _Outcome:
    c = _Trace(rule)
    spend = f.spend[f.spend > 0]
    if not c.met("spenders", int(spend.size), ">=", "min_spenders"):
        return None
    top10, top1 = top_share(spend, 0.10), top_share(spend, 0.01)
    if not c.met("spend_top10_share", top10, ">=", "min_top10_share"):
        return None
    c.raise_if(
        c.met("spend_top1_share", top1, ">=", "high_top1_share"),
        f"the top 1 % of spenders pay {human('spend_top1_share', top1)} of all spend (≥ "
        f"{human('spend_top1_share', rule.threshold('high_top1_share'))})",
    )
    return c.fired(
        {
            "spend_top10_share": top10,
            "spend_top1_share": top1,
            "spenders": int(spend.size),
            "total_spend": float(spend.sum()),
        }
    )


def _night(rule: Rule, f: MechanicFacts) -> _Outcome:
    c = _Trace(rule)
    tested = int(f.night_tested.sum())
    if not c.met("assessable_users", tested, ">=", "min_users"):
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
    flagged = int(f.night_flagged.sum())
    share = float(flagged / tested)
    if not (
        c.met("night_user_share", share, ">=", "min_user_share")
        and c.met("night_users", flagged, ">=", "min_flagged_users")
    ):
        return None
    return c.fired(
        {
            "night_user_share": share,
            "night_users": flagged,
            "assessable_users": tested,
            "false_discovery_rate": FDR_Q,
            "night_share_median": float(np.median(night)) if night.size else float("nan"),
            "local_time_share": f.local_time_share,
        }
    )


def _escalation(rule: Rule, f: MechanicFacts) -> _Outcome:
    c = _Trace(rule)
    length = _defined(f.session_escalation)
    freq = _defined(f.frequency_escalation)
    users = int(max(length.size, freq.size))
    if not c.met("users", users, ">=", "min_users"):
        return None
    m_len = float(np.median(length)) if length.size >= rule.threshold("min_users") else float("nan")
    m_freq = float(np.median(freq)) if freq.size >= rule.threshold("min_users") else float("nan")
    longer = c.met("session_length_change_median", m_len, ">=", "min_log_change")
    closer = c.met("session_frequency_change_median", m_freq, ">=", "min_log_change")
    if not (longer or closer):
        return None
    return c.fired(
        {
            "session_length_change_median": m_len,
            "session_frequency_change_median": m_freq,
            "users": users,
        }
    )


def _appointment(rule: Rule, f: MechanicFacts) -> _Outcome:
    c = _Trace(rule)
    if not (
        c.fact("kind", f.kind, "is", "fixed_interval")
        and c.met("mean_interval_s", f.mean_interval_s, ">=", "min_interval_s")
    ):
        return None
    aversive = c.met("aversive_share", f.aversive_share, ">", "max_aversive_share")
    c.raise_if(
        aversive,
        "missing an appointment is punished ("
        f"{human('aversive_share', f.aversive_share)} of responses bring an aversive outcome, "
        f"> {human('aversive_share', rule.threshold('max_aversive_share'))})",
    )
    return c.fired(
        {
            "mean_interval_s": f.mean_interval_s,
            "aversive_share": f.aversive_share,
            "streak_loss": aversive,
            "aversive_expectation_median": _median(f.aversive_expectation),
        }
    )


def _disguised_losses(rule: Rule, f: MechanicFacts) -> _Outcome:
    c = _Trace(rule)
    if not c.fact("responses_cost", f.has_cost, "is", True) or not math.isfinite(
        f.disguised_loss_share
    ):
        return None
    if not c.met("disguised_loss_share", f.disguised_loss_share, ">=", "min_share"):
        return None
    return c.fired({"disguised_loss_share": f.disguised_loss_share, "kind": f.kind})


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
