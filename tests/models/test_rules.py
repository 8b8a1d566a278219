"""The decision table: data, digest versions, overrides, and every rule on its own scenario."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pytest

from models.rules import DEFAULT_TABLE, SEVERITIES, MechanicFacts, evaluate
from models.validate import rules_bar

DESIGN_RULE_IDS = [
    "variable-ratio-reward",
    "predictable-unpredictable-mix",
    "rpe-maximization",
    "exploration-stuck",
    "anhedonia-signature",
    "loss-chasing",
    "spend-concentration",
    "night-engagement",
    "session-escalation",
    "playing-by-appointment",
]
SEED_ROWS = {
    "variable-ratio-reward": (
        "Habit-forming product",
        "Variable-ratio reward (slot machine schedule)",
    ),
    "predictable-unpredictable-mix": (
        "Sustained engagement",
        "Mix predictable + unpredictable wins",
    ),
    "rpe-maximization": ("Avoid burnout", "Avoid pure RPE-maximization (ethical concern)"),
    "exploration-stuck": ("RL exploration stuck", "Add intrinsic reward (RND, ICM)"),
    "anhedonia-signature": ("Anhedonia in user", "Reduce expectation, surprise with low-cost wins"),
}


def test_rule_ids_and_seed_text_are_those_of_the_design() -> None:
    assert [r.rule_id for r in DEFAULT_TABLE.rules] == DESIGN_RULE_IDS
    for rule_id, (situation, insight) in SEED_ROWS.items():
        rule = DEFAULT_TABLE.rule(rule_id)
        assert (rule.situation, rule.insight) == (situation, insight)
    for rule in DEFAULT_TABLE.rules:
        assert rule.severity in SEVERITIES
        assert rule.references
        for t in rule.thresholds:
            assert t.rationale
            assert t.reference


def test_version_is_the_digest_of_the_canonical_content() -> None:
    body = json.dumps(
        DEFAULT_TABLE.as_dict()["rules"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert DEFAULT_TABLE.version == "sha256:" + hashlib.sha256(body.encode()).hexdigest()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", DEFAULT_TABLE.version)
    json.dumps(DEFAULT_TABLE.as_dict(), allow_nan=False)


def test_overrides_make_a_new_table_with_a_new_version() -> None:
    table = DEFAULT_TABLE.with_overrides({"loss-chasing.min_share": 0.2})
    assert table.rule("loss-chasing").threshold("min_share") == 0.2
    assert DEFAULT_TABLE.rule("loss-chasing").threshold("min_share") == 0.1
    assert table.version != DEFAULT_TABLE.version
    assert table.with_overrides({"loss-chasing.min_share": 0.1}).version == DEFAULT_TABLE.version


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("loss-chasing.no_such", 1.0),
        ("no-such-rule.min_share", 1.0),
        ("loss-chasing", 1.0),
        ("loss-chasing.min_share", float("nan")),
    ],
)
def test_bad_overrides_name_the_key(key: str, value: float) -> None:
    with pytest.raises(ValueError, match=re.escape(key)):
        DEFAULT_TABLE.with_overrides({key: value})


def _facts(**changes: object) -> MechanicFacts:
    empty = np.zeros(0)
    base: dict[str, object] = {
        "mechanic": "m",
        "kind": "variable_ratio",
        "confidence": 0.99,
        "reward_probability": 0.1,
        "mean_ratio": 10.0,
        "magnitude_cv": 0.5,
        "mean_interval_s": 60.0,
        "has_cost": False,
        "aversive_share": 0.0,
        "reward_uncertainty": 0.36,
        "outcome": "any reward",
        "bonus": None,
        "users": 0,
        "engagement_fitted": np.zeros(0, dtype=bool),
        "b_delta": empty,
        "b_delta_p": empty,
        "spend": empty,
        "night_share": empty,
        "session_escalation": empty,
        "frequency_escalation": empty,
        "rpe_persistence": empty,
        "rpe_balance": empty,
        "front_loading": empty,
        "option_concentration": empty,
    }
    return MechanicFacts(**(base | changes))  # type: ignore[arg-type]


def test_slot_machine_severity_rises_with_cost_and_spread() -> None:
    def severity(**changes: object) -> str:
        (finding,) = [
            f
            for f in evaluate(DEFAULT_TABLE, _facts(**changes))
            if f.rule_id == "variable-ratio-reward"
        ]
        return finding.severity

    assert severity() == "medium"
    assert severity(has_cost=True) == "high"
    assert severity(has_cost=True, magnitude_cv=2.0) == "critical"


def test_the_evaluator_uses_the_table_it_is_given() -> None:
    facts = _facts()
    assert [f.rule_id for f in evaluate(DEFAULT_TABLE, facts)] == ["variable-ratio-reward"]
    strict = DEFAULT_TABLE.with_overrides({"variable-ratio-reward.min_confidence": 0.999})
    assert evaluate(strict, facts) == ()


def test_loss_chasing_counts_significant_negative_b_delta() -> None:
    fitted = np.ones(20, dtype=bool)
    b = np.where(np.arange(20) < 3, -2.0, 1.0)
    p = np.where(np.arange(20) < 3, 0.01, 0.5)
    (finding,) = evaluate(
        DEFAULT_TABLE, _facts(kind="fixed_ratio", engagement_fitted=fitted, b_delta=b, b_delta_p=p)
    )
    assert finding.rule_id == "loss-chasing"
    assert finding.evidence["loss_chasing_share"] == pytest.approx(3 / 20)
    assert (
        evaluate(
            DEFAULT_TABLE.with_overrides({"loss-chasing.min_share": 0.2}),
            _facts(kind="fixed_ratio", engagement_fitted=fitted, b_delta=b, b_delta_p=p),
        )
        == ()
    )


def test_every_rule_fires_on_its_scenario_and_none_on_the_control() -> None:
    bar = rules_bar(60, seed=0)
    assert [rule for rule, fired in bar.fired.items() if not fired] == []
    assert bar.control == []
