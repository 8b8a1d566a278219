"""What the rules read and what they return: the facts of one mechanic, its findings, and why a
rule could not be assessed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.rules.table import cited


@dataclass(frozen=True, kw_only=True)
class Finding:
    """A rule that fired for a mechanic."""

    rule_id: str
    mechanic: str
    severity: str
    situation: str
    insight: str
    evidence: dict[str, Any]
    recommendation: str
    references: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "mechanic": self.mechanic,
            "severity": self.severity,
            "situation": self.situation,
            "insight": self.insight,
            "evidence": self.evidence,
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
