"""What the rules read and what they return: the facts of one mechanic, its findings, and why a
rule could not be assessed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.rules.table import cited


@dataclass(frozen=True, kw_only=True)
class Criterion:
    """A condition of a rule that a finding met: `marker` (a figure or a fact) compared with
    `threshold` (the value of the rule's `threshold_name` in the table as applied, or a fact
    such as a schedule kind). `users_counted`: for a share of users, the condition each user
    counted met (e.g. rpe_balance <= -0.3)."""

    marker: str
    value: Any
    comparison: str
    threshold: Any
    threshold_name: str | None
    unit: str
    users_counted: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {
            "marker": self.marker,
            "value": self.value,
            "comparison": self.comparison,
            "threshold": self.threshold,
            "threshold_name": self.threshold_name,
            "unit": self.unit,
        }
        if self.users_counted is not None:
            out["users_counted"] = self.users_counted
        return out


@dataclass(frozen=True, kw_only=True)
class SeverityStep:
    """The severity after one step, and why: the first step is the rule's base severity, each
    further one a raise."""

    severity: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"severity": self.severity, "reason": self.reason}


@dataclass(frozen=True, kw_only=True)
class Finding:
    """A rule that fired for a mechanic: `criteria` every condition it met, `severity_steps`
    how its severity came to be, from the rule's base severity to `severity`."""

    rule_id: str
    mechanic: str
    severity: str
    situation: str
    insight: str
    evidence: dict[str, Any]
    recommendation: str
    references: tuple[str, ...]
    criteria: tuple[Criterion, ...] = ()
    severity_steps: tuple[SeverityStep, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "mechanic": self.mechanic,
            "severity": self.severity,
            "situation": self.situation,
            "insight": self.insight,
            "evidence": self.evidence,
            "criteria": [c.as_dict() for c in self.criteria],
            "severity_steps": [s.as_dict() for s in self.severity_steps],
            "recommendation": self.recommendation,
            "references": cited(self.references),
        }


@dataclass(frozen=True, kw_only=True)
class MechanicFacts:
    """What the rules look at for one mechanic: its schedule and its users' markers.

    Per-user arrays are (u,) over the mechanic's users, NaN where a marker is undefined; the
    rules apply their own user-level thresholds to them.
    """

    mechanic: str
    kind: str
    confidence: float
    slot_machine_confidence: float
    reward_probability: float
    mean_ratio: float
    magnitude_cv: float
    mean_interval_s: float
    has_cost: bool
    aversive_share: float
    reward_uncertainty: float
    outcome: str
    bonus: dict[str, Any] | None
    users: int
    engagement_fitted: NDArray[np.bool_]
    b_delta: NDArray[np.float64]
    b_delta_p: NDArray[np.float64]
    spend: NDArray[np.float64]
    night_share: NDArray[np.float64]
    session_escalation: NDArray[np.float64]
    frequency_escalation: NDArray[np.float64]
    rpe_persistence: NDArray[np.float64]
    rpe_balance: NDArray[np.float64]
    front_loading: NDArray[np.float64]
    option_concentration: NDArray[np.float64]
    aversive_expectation: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    local_time_share: float = float("nan")
    disguised_loss_share: float = float("nan")
    cost_share: float = float("nan")
    chase_effect: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    chase_tested: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    chase_flagged: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    night_tested: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    night_flagged: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))


@dataclass(frozen=True, kw_only=True)
class NotAssessable:
    """A rule that could not be assessed on a mechanic, and why (e.g. local time unknown): the
    report says so instead of firing or staying silent."""

    rule_id: str
    mechanic: str
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "mechanic": self.mechanic,
            "reason": self.reason,
            "evidence": self.evidence,
        }
