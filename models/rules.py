"""The decision table: data, versioned by a digest of its content.

Each row is a `Rule` — the seed's situation and insight, a recommendation, a base severity,
references, and its thresholds as named data with a rationale and a reference. `evaluate`
takes the table as an argument (tests and deployments inject tables, never patch code) and
the facts of one mechanic, and returns the findings. The condition of each rule is a small
function keyed by the rule id; everything numeric it compares against comes from the table,
so `with_overrides({"loss-chasing.min_share": 0.2})` yields a new table with a new version.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.markers import top_share
from models.references import REFERENCES
from models.risk import FDR_Q
from models.schedule import SLOT_MACHINE_KINDS

SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")


def cited(keys: tuple[str, ...]) -> list[dict[str, str]]:
    """Each reference as {"key", "citation", "shows"} (`models.references`)."""
    return [
        {"key": k, "citation": REFERENCES[k].citation, "shows": REFERENCES[k].shows} for k in keys
    ]


@dataclass(frozen=True, kw_only=True)
class Threshold:
    """A named threshold of a rule, with why it has this value and where that comes from."""

    name: str
    value: float
    rationale: str
    reference: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "rationale": self.rationale,
            "reference": self.reference,
        }


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One row of the decision table.

    references: keys of `models.references.REFERENCES`; the table and its findings carry each
    work's citation and what it shows, so a reviewer reads why a work is cited, not a bare name.
    """

    rule_id: str
    situation: str
    insight: str
    recommendation: str
    severity: str
    references: tuple[str, ...]
    thresholds: tuple[Threshold, ...] = ()

    def __post_init__(self) -> None:
        unknown = [key for key in self.references if key not in REFERENCES]
        if unknown:
            raise KeyError(f"rule {self.rule_id} cites unknown references {unknown}")

    def threshold(self, name: str) -> float:
        for t in self.thresholds:
            if t.name == name:
                return t.value
        raise KeyError(f"{self.rule_id} has no threshold {name!r}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "situation": self.situation,
            "insight": self.insight,
            "recommendation": self.recommendation,
            "severity": self.severity,
            "references": cited(self.references),
            "thresholds": [t.as_dict() for t in self.thresholds],
        }


@dataclass(frozen=True, kw_only=True)
class DecisionTable:
    """The rules in order; `version` is "sha256:" + the digest of their canonical JSON."""

    rules: tuple[Rule, ...]

    @property
    def version(self) -> str:
        body = json.dumps(
            [r.as_dict() for r in self.rules],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return "sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "rules": [r.as_dict() for r in self.rules]}

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.rule_id == rule_id:
                return r
        raise KeyError(rule_id)

    def with_overrides(self, overrides: Mapping[str, float]) -> DecisionTable:
        """A new table with thresholds replaced: keys are "rule_id.threshold_name".

        Raises ValueError naming the first unknown key or non-finite value.
        """
        rules = {r.rule_id: r for r in self.rules}
        for key, value in overrides.items():
            rule_id, _, name = key.partition(".")
            if rule_id not in rules or not any(t.name == name for t in rules[rule_id].thresholds):
                raise ValueError(f"unknown decision-table threshold {key!r}")
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
            ):
                raise ValueError(f"threshold {key!r} must be a finite number")
            rule = rules[rule_id]
            rules[rule_id] = replace(
                rule,
                thresholds=tuple(
                    replace(t, value=float(value)) if t.name == name else t for t in rule.thresholds
                ),
            )
        return DecisionTable(rules=tuple(rules[r.rule_id] for r in self.rules))


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


@dataclass(frozen=True, kw_only=True)
class Assessment:
    """What the table says of one mechanic: the findings that fired (in table order) and the
    rules that could not be assessed, with why."""

    findings: tuple[Finding, ...]
    not_assessable: tuple[NotAssessable, ...]


def assess(table: DecisionTable, facts: MechanicFacts) -> Assessment:
    """Evaluate every rule of `table` on `facts`.

    Rows without a known condition never fire (a table may carry rows for other engines).
    """
    found: list[Finding] = []
    unassessable: list[NotAssessable] = []
    for rule in table.rules:
        condition = CONDITIONS.get(rule.rule_id)
        outcome = condition(rule, facts) if condition is not None else None
        if outcome is None:
            continue
        if isinstance(outcome, _Unassessable):
            unassessable.append(
                NotAssessable(
                    rule_id=rule.rule_id,
                    mechanic=facts.mechanic,
                    reason=outcome.reason,
                    evidence=outcome.evidence,
                )
            )
            continue
        severity, evidence = outcome
        found.append(
            Finding(
                rule_id=rule.rule_id,
                mechanic=facts.mechanic,
                severity=severity,
                situation=rule.situation,
                insight=rule.insight,
                evidence=evidence,
                recommendation=rule.recommendation,
                references=rule.references,
            )
        )
    return Assessment(findings=tuple(found), not_assessable=tuple(unassessable))


def evaluate(table: DecisionTable, facts: MechanicFacts) -> tuple[Finding, ...]:
    """The findings of every rule of `table` that fires on `facts`, in table order."""
    return assess(table, facts).findings


def _t(name: str, value: float, rationale: str, reference: str) -> Threshold:
    return Threshold(name=name, value=value, rationale=rationale, reference=reference)


_MIN_USERS = _t(
    "min_users",
    10,
    "a median over fewer users is one or two people's behaviour",
    "a product choice",
)
# a finding made of per-user discoveries needs this many of them: at a 10 % false-discovery
# rate, when nobody has the behaviour, one discovery turns up in about one mechanic in ten
# with 10–20 tested users; three turn up far more rarely
_MIN_FLAGGED = _t(
    "min_flagged_users",
    3,
    "one or two discoveries at a 10 % false-discovery rate are what a mechanic where nobody "
    "has the behaviour produces about one time in ten; a product choice",
    "Benjamini & Hochberg 1995 (J. R. Stat. Soc. B 57:289)",
)

DEFAULT_TABLE = DecisionTable(
    rules=(
        Rule(
            rule_id="variable-ratio-reward",
            situation="Habit-forming product",
            insight="Variable-ratio reward (slot machine schedule)",
            recommendation=(
                "Disclose the odds of each outcome, cap or remove paid access to the random "
                "draw, and offer a deterministic path to the same rewards."
            ),
            severity="medium",
            references=(
                "ferster-skinner-1957",
                "zendle-meyer-over-2019",
                "schultz-dayan-montague-1997",
                "eu-dsa-art25-2022",
            ),
            thresholds=(
                _t(
                    "min_confidence",
                    0.5,
                    "on the calibrated probability that the mechanic runs a variable ratio or "
                    "pity, whichever was called (the finding is right either way); the call "
                    "already requires a likelihood ratio of 100 against an interval schedule, "
                    "so this only drops calls no more likely right than wrong",
                    "Royall 1997, Statistical Evidence",
                ),
                _t(
                    "wide_magnitude_cv",
                    1.0,
                    "payouts whose spread is at least their mean (slot pay tables) add a "
                    "magnitude lottery to the schedule lottery",
                    "a product choice",
                ),
            ),
        ),
        Rule(
            rule_id="predictable-unpredictable-mix",
            situation="Sustained engagement",
            insight="Mix predictable + unpredictable wins",
            recommendation=(
                "Healthy pattern: keep the predictable reward carrying most of the value and "
                "the random bonus small and free."
            ),
            severity="info",
            references=(
                "fiorillo-tobler-schultz-2003",
                "ferster-skinner-1957",
            ),
            thresholds=(
                _t(
                    "max_bonus_value_share",
                    0.5,
                    "the fixed component must carry most of the value, else the bonus is the "
                    "schedule",
                    "a product choice",
                ),
            ),
        ),
        Rule(
            rule_id="rpe-maximization",
            situation="Avoid burnout",
            insight="Avoid pure RPE-maximization (ethical concern)",
            recommendation=(
                "Make outcomes more predictable as users gain experience: reduce randomness of "
                "payouts or signal them in advance."
            ),
            severity="medium",
            references=(
                "schultz-dayan-montague-1997",
                "fiorillo-tobler-schultz-2003",
            ),
            thresholds=(
                _t(
                    "min_rpe_persistence",
                    0.5,
                    "late prediction errors at least half the early ones: learning does not "
                    "remove the surprise",
                    "a product choice",
                ),
                _t(
                    "min_reward_uncertainty",
                    0.75,
                    "p(1−p)/0.25 ≥ 0.75, i.e. reward probability within 0.25–0.75 of the "
                    "maximum-uncertainty point 0.5",
                    "Fiorillo, Tobler & Schultz 2003 (Science 299:1898)",
                ),
                _MIN_USERS,
            ),
        ),
        Rule(
            rule_id="exploration-stuck",
            situation="RL exploration stuck",
            insight="Add intrinsic reward (RND, ICM)",
            recommendation=(
                "Users repeat one loop whose rewards are drying up: surface alternatives or "
                "reward novelty (intrinsic reward) instead of squeezing the exhausted loop."
            ),
            severity="low",
            references=(
                "burda-et-al-2018",
                "pathak-et-al-2017",
            ),
            thresholds=(
                _t(
                    "min_option_concentration",
                    0.9,
                    "nine choices in ten go to one option: the user no longer explores",
                    "a product choice",
                ),
                _t(
                    "min_front_loading",
                    0.2,
                    "late payouts per response at most two thirds of the early ones",
                    "a product choice",
                ),
                _t(
                    "max_engagement_trend",
                    -0.2,
                    "sessions shorter or rarer by ≥ 18 % (log change −0.2) over users' tenure",
                    "a product choice",
                ),
                _MIN_USERS,
            ),
        ),
        Rule(
            rule_id="anhedonia-signature",
            situation="Anhedonia in user",
            insight="Reduce expectation, surprise with low-cost wins",
            recommendation=(
                "Rewards keep falling short of what users learned to expect: stop shrinking "
                "rewards with tenure and add small unexpected wins."
            ),
            severity="medium",
            references=("schultz-dayan-montague-1997",),
            thresholds=(
                _t(
                    "rpe_balance",
                    -0.3,
                    "Σδ/Σ|δ| ≤ −0.3: disappointments outweigh surprises by 65 % to 35 %",
                    "a product choice",
                ),
                _t(
                    "min_user_share",
                    0.5,
                    "most users live with negative prediction errors",
                    "a product choice",
                ),
                _t(
                    "max_engagement_trend",
                    -0.2,
                    "sessions shorter or rarer by ≥ 18 % over users' tenure",
                    "a product choice",
                ),
                _MIN_USERS,
            ),
        ),
        Rule(
            rule_id="loss-chasing",
            situation="Loss chasing",
            insight="stakes rise after losses",
            recommendation=(
                "Interrupt play after losing streaks (cool-down, loss limits, reality checks) "
                "and never prompt a higher stake after a loss."
            ),
            severity="high",
            references=(
                "lesieur-1984",
                "zhang-clark-2020",
                "benjamini-hochberg-1995",
                "ukgc-2023",
            ),
            thresholds=(
                _t(
                    "min_share",
                    0.05,
                    "one tested user in twenty raises the stake after losses, each a discovery "
                    "at a 10 % false-discovery rate; a product choice, no published threshold",
                    "Benjamini & Hochberg 1995 (J. R. Stat. Soc. B 57:289)",
                ),
                _t(
                    "min_tested_users",
                    10,
                    "a share of fewer tested users is one or two people",
                    "a product choice",
                ),
                _MIN_FLAGGED,
            ),
        ),
        Rule(
            rule_id="spend-concentration",
            situation="Revenue from few",
            insight="revenue depends on a few heavy spenders",
            recommendation=(
                "Set spend limits and proactive checks for the heaviest spenders; review "
                "whether monetisation targets vulnerable users."
            ),
            severity="medium",
            references=(
                "zendle-petrovskaya-wardle-2020",
                "ukgc-2023",
            ),
            thresholds=(
                _t(
                    "min_top10_share",
                    0.5,
                    "the top tenth of spenders pay most of the total",
                    "a product choice",
                ),
                _t(
                    "high_top1_share",
                    0.25,
                    "one user in a hundred pays a quarter of everything; for scale, the top 1 % "
                    "paid 26.33 % of CS:GO loot-box revenue in Zendle, Petrovskaya & Wardle "
                    "2020 (an observation, not a threshold)",
                    "a product choice",
                ),
                _t(
                    "min_spenders",
                    20,
                    "shares over fewer spenders are dominated by one person",
                    "a product choice",
                ),
            ),
        ),
        Rule(
            rule_id="night-engagement",
            situation="Sleep displacement",
            insight="play during sleep hours",
            recommendation=(
                "Avoid notifications and time-limited events between midnight and 06:00 in the "
                "user's zone; offer quiet hours."
            ),
            severity="medium",
            references=(
                "ukgc-2023",
                "benjamini-hochberg-1995",
            ),
            thresholds=(
                _t(
                    "min_user_share",
                    0.2,
                    "one assessable user in five plays mostly at night (each a discovery at a "
                    "10 % false-discovery rate): a pattern, not an outlier; a product choice",
                    "a product choice",
                ),
                _MIN_USERS,
                _MIN_FLAGGED,
            ),
        ),
        Rule(
            rule_id="session-escalation",
            situation="Tolerance",
            insight="tolerance: sessions grow",
            recommendation=(
                "Add session-length reminders and breaks; do not reward longer or more "
                "frequent sessions."
            ),
            severity="medium",
            references=(
                "braverman-shaffer-2012",
                "ukgc-2023",
            ),
            thresholds=(
                _t(
                    "min_log_change",
                    0.405,
                    "the median user's sessions grow (or come closer) by ≥ 50 % (log 1.5)",
                    "a product choice",
                ),
                _MIN_USERS,
            ),
        ),
        Rule(
            rule_id="playing-by-appointment",
            situation="Appointment mechanics",
            insight="fixed-interval rewards with streak loss",
            recommendation=(
                "Let rewards accumulate instead of expiring, and never punish a missed day "
                "(no streak loss)."
            ),
            severity="low",
            references=(
                "ferster-skinner-1957",
                "zagal-bjork-lewis-2013",
            ),
            thresholds=(
                _t(
                    "min_interval_s",
                    3600.0,
                    "an appointment is hours apart; shorter fixed intervals are pacing",
                    "a product choice",
                ),
                _t(
                    "max_aversive_share",
                    0.0,
                    "any aversive outcome (streak lost) for missing the appointment",
                    "a product choice",
                ),
            ),
        ),
        Rule(
            rule_id="losses-disguised-as-wins",
            situation="Paid mechanic",
            insight="payouts below the stake celebrated as wins",
            recommendation=(
                "Do not present a payout smaller than the stake with win feedback (sounds, "
                "animations, 'You won'); show the net outcome."
            ),
            severity="medium",
            references=("dixon-et-al-2010",),
            thresholds=(
                _t(
                    "min_share",
                    0.1,
                    "one paid response in ten returns something, but less than its stake: "
                    "frequent enough to be part of the experience; a product choice",
                    "a product choice",
                ),
            ),
        ),
    )
)
