"""Each finding names the thresholds it crossed and the steps that set its severity: every rule
of the default table on hand-worked facts just over and just under each of its thresholds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from models.markers.glossary import GLOSSARY
from models.rules import DEFAULT_TABLE, SEVERITIES, DecisionTable, Finding, MechanicFacts, assess
from tests.models.test_rules import _facts

N = 12  # users, over the rules' min_users of 10


def _full(value: float, n: int = N) -> Any:
    return np.full(n, value)


def _finding(
    facts: MechanicFacts, rule_id: str, table: DecisionTable = DEFAULT_TABLE
) -> Finding | None:
    found = [f for f in assess(table, facts).findings if f.rule_id == rule_id]
    return found[0] if found else None


def _crossed(finding: Finding) -> set[str]:
    """The names of the table's thresholds the finding's criteria name (per-user cuts too)."""
    names = {c.threshold_name for c in finding.criteria if c.threshold_name is not None}
    names |= {c.users_counted["threshold_name"] for c in finding.criteria if c.users_counted}
    return names


def _check_steps(finding: Finding, raises: int) -> None:
    """The steps start at the rule's base severity, rise by one each, and end at the
    finding's severity."""
    base = DEFAULT_TABLE.rule(finding.rule_id).severity
    steps = finding.severity_steps
    assert steps[0].severity == base
    assert steps[0].reason == f"base severity of {finding.rule_id}"
    assert len(steps) == 1 + raises
    ranks = [SEVERITIES.index(s.severity) for s in steps]
    assert ranks == list(range(ranks[0], ranks[0] + len(steps)))
    assert steps[-1].severity == finding.severity
    assert all(s.reason.startswith("+1: ") for s in steps[1:])


def _chasing(n: int, chasers: int) -> MechanicFacts:
    flagged = np.arange(n) < chasers
    return _facts(
        kind="fixed_ratio",
        has_cost=True,
        chase_tested=np.ones(n, dtype=bool),
        chase_flagged=flagged,
        chase_effect=np.where(flagged, 0.5, 0.01),
    )


def _night(n: int, flagged: int) -> MechanicFacts:
    return _facts(
        night_share=_full(0.5, n),
        night_tested=np.ones(n, dtype=bool),
        night_flagged=np.arange(n) < flagged,
        local_time_share=1.0,
    )


def _spend(*groups: tuple[int, float]) -> MechanicFacts:
    return _facts(spend=np.concatenate([np.zeros(50), *[_full(v, n) for n, v in groups]]))


def _stuck(concentration: float, front: float, trend: float, n: int = N) -> MechanicFacts:
    return _facts(
        option_concentration=_full(concentration, n),
        front_loading=_full(front, n),
        session_escalation=_full(trend, n),
        frequency_escalation=_full(trend, n),
    )


def _anhedonia(disappointed: int, cut: float = -0.31, n: int = 20) -> MechanicFacts:
    balance = np.where(np.arange(n) < disappointed, cut, 0.0)
    return _facts(
        rpe_balance=balance,
        session_escalation=_full(-0.21, n),
        frequency_escalation=_full(-0.21, n),
    )


_BONUS = {"kind": "variable_ratio", "rate": 0.05, "threshold": 10.0}
_UNCERTAIN = {"rpe_persistence": _full(0.51), "reward_uncertainty": 0.76}

# rule: (facts that fire, the thresholds their criteria name, the severity raises)
FIRING: dict[str, tuple[MechanicFacts, set[str], int]] = {
    "variable-ratio-reward": (_facts(slot_machine_confidence=0.51), {"min_confidence"}, 0),
    "predictable-unpredictable-mix": (
        _facts(kind="fixed_ratio", bonus=_BONUS | {"value_share": 0.49}),
        {"max_bonus_value_share"},
        0,
    ),
    "rpe-maximization": (
        _facts(**_UNCERTAIN),
        {"min_users", "min_rpe_persistence", "min_reward_uncertainty"},
        0,
    ),
    "exploration-stuck": (
        _stuck(0.91, 0.21, -0.21),
        {"min_users", "min_option_concentration", "min_front_loading", "max_engagement_trend"},
        0,
    ),
    "anhedonia-signature": (
        _anhedonia(11),
        {"min_users", "rpe_balance", "min_user_share", "max_engagement_trend"},
        0,
    ),
    "loss-chasing": (
        _chasing(20, 3),
        {"min_tested_users", "min_share", "min_flagged_users"},
        0,
    ),
    "spend-concentration": (_spend((18, 1.0), (2, 9.5)), {"min_spenders", "min_top10_share"}, 0),
    "night-engagement": (_night(12, 3), {"min_users", "min_user_share", "min_flagged_users"}, 0),
    "session-escalation": (
        _facts(session_escalation=_full(0.41), frequency_escalation=_full(0.0)),
        {"min_users", "min_log_change"},
        0,
    ),
    "playing-by-appointment": (
        _facts(kind="fixed_interval", mean_interval_s=3601.0),
        {"min_interval_s"},
        0,
    ),
    "losses-disguised-as-wins": (
        _facts(has_cost=True, disguised_loss_share=0.11),
        {"min_share"},
        0,
    ),
}

# rule, threshold: facts just under it (the rule stays silent)
UNDER: list[tuple[str, str, MechanicFacts]] = [
    ("variable-ratio-reward", "min_confidence", _facts(slot_machine_confidence=0.49)),
    (
        "predictable-unpredictable-mix",
        "max_bonus_value_share",
        _facts(kind="fixed_ratio", bonus=_BONUS | {"value_share": 0.51}),
    ),
    ("rpe-maximization", "min_users", _facts(**_UNCERTAIN | {"rpe_persistence": _full(0.51, 9)})),
    (
        "rpe-maximization",
        "min_rpe_persistence",
        _facts(**_UNCERTAIN | {"rpe_persistence": _full(0.49)}),
    ),
    (
        "rpe-maximization",
        "min_reward_uncertainty",
        _facts(**_UNCERTAIN | {"reward_uncertainty": 0.74}),
    ),
    ("exploration-stuck", "min_users", _stuck(0.91, 0.21, -0.21, n=9)),
    ("exploration-stuck", "min_option_concentration", _stuck(0.89, 0.21, -0.21)),
    ("exploration-stuck", "min_front_loading", _stuck(0.91, 0.19, -0.21)),
    ("exploration-stuck", "max_engagement_trend", _stuck(0.91, 0.21, -0.19)),
    ("anhedonia-signature", "min_users", _anhedonia(9, n=9)),
    ("anhedonia-signature", "rpe_balance", _anhedonia(11, cut=-0.29)),
    ("anhedonia-signature", "min_user_share", _anhedonia(9)),
    ("loss-chasing", "min_tested_users", _chasing(9, 3)),
    ("loss-chasing", "min_share", _chasing(61, 3)),
    ("loss-chasing", "min_flagged_users", _chasing(10, 2)),
    ("spend-concentration", "min_spenders", _spend((17, 1.0), (2, 9.5))),
    ("spend-concentration", "min_top10_share", _spend((18, 1.0), (2, 8.5))),
    ("night-engagement", "min_users", _night(9, 3)),
    ("night-engagement", "min_user_share", _night(16, 3)),
    ("night-engagement", "min_flagged_users", _night(10, 2)),
    ("session-escalation", "min_users", _facts(session_escalation=_full(0.41, 9))),
    ("session-escalation", "min_log_change", _facts(session_escalation=_full(0.40))),
    (
        "playing-by-appointment",
        "min_interval_s",
        _facts(kind="fixed_interval", mean_interval_s=3599.0),
    ),
    ("losses-disguised-as-wins", "min_share", _facts(has_cost=True, disguised_loss_share=0.09)),
]


def test_every_rule_of_the_table_has_its_hand_worked_case() -> None:
    assert set(FIRING) == {r.rule_id for r in DEFAULT_TABLE.rules}
    for rule in DEFAULT_TABLE.rules:
        raising = {"wide_magnitude_cv", "high_top1_share", "max_aversive_share"}
        named = FIRING[rule.rule_id][1] | {t for r, t, _ in UNDER if r == rule.rule_id}
        assert {t.name for t in rule.thresholds} == named | (
            raising & {t.name for t in rule.thresholds}
        )


@pytest.mark.parametrize("rule_id", sorted(FIRING))
def test_just_over_the_thresholds_the_finding_names_exactly_those_crossed(rule_id: str) -> None:
    facts, crossed, raises = FIRING[rule_id]
    finding = _finding(facts, rule_id)
    assert finding is not None
    assert _crossed(finding) == crossed
    _check_steps(finding, raises)
    rule = DEFAULT_TABLE.rule(rule_id)
    for c in finding.criteria:
        assert c.unit == GLOSSARY[c.marker].unit
        if c.threshold_name is not None:
            assert c.threshold == rule.threshold(c.threshold_name)
        if c.marker in finding.evidence:
            assert c.value == finding.evidence[c.marker]


@pytest.mark.parametrize(
    ("rule_id", "threshold", "facts"), UNDER, ids=[f"{r}.{t}" for r, t, _ in UNDER]
)
def test_just_under_a_threshold_the_rule_is_silent(
    rule_id: str, threshold: str, facts: MechanicFacts
) -> None:
    assert _finding(facts, rule_id) is None


def test_the_criteria_read_each_figure_and_threshold() -> None:
    finding = _finding(_night(12, 3), "night-engagement")
    assert finding is not None
    assert [c.as_dict() for c in finding.criteria] == [
        {
            "marker": "assessable_users",
            "value": 12,
            "comparison": ">=",
            "threshold": 10,
            "threshold_name": "min_users",
            "unit": "users",
        },
        {
            "marker": "night_user_share",
            "value": 0.25,
            "comparison": ">=",
            "threshold": 0.2,
            "threshold_name": "min_user_share",
            "unit": "share of assessable users, 0–1",
        },
        {
            "marker": "night_users",
            "value": 3,
            "comparison": ">=",
            "threshold": 3,
            "threshold_name": "min_flagged_users",
            "unit": "users",
        },
    ]
    anhedonia = _finding(_anhedonia(11), "anhedonia-signature")
    assert anhedonia is not None
    (share,) = [c for c in anhedonia.criteria if c.marker == "negative_rpe_user_share"]
    assert share.value == pytest.approx(11 / 20)
    assert share.users_counted == {
        "marker": "rpe_balance",
        "comparison": "<=",
        "threshold": -0.3,
        "threshold_name": "rpe_balance",
    }


def test_the_thresholds_are_those_of_the_table_as_applied() -> None:
    table = DEFAULT_TABLE.with_overrides(
        {"night-engagement.min_user_share": 0.1, "anhedonia-signature.rpe_balance": -0.2}
    )
    night = _finding(_night(16, 3), "night-engagement", table)  # 0.1875: under the default
    assert night is not None
    (share,) = [c for c in night.criteria if c.marker == "night_user_share"]
    assert (share.value, share.threshold) == (pytest.approx(3 / 16), 0.1)
    anhedonia = _finding(_anhedonia(11, cut=-0.25), "anhedonia-signature", table)
    assert anhedonia is not None
    (counted,) = [c.users_counted for c in anhedonia.criteria if c.users_counted]
    assert counted["threshold"] == -0.2


def test_slot_machine_steps_name_the_cost_and_the_spread() -> None:
    over = _finding(
        _facts(slot_machine_confidence=0.51, magnitude_cv=1.01, has_cost=True, cost_share=0.12),
        "variable-ratio-reward",
    )
    assert over is not None
    assert over.severity == "critical"
    assert _crossed(over) == {"min_confidence", "wide_magnitude_cv"}
    _check_steps(over, 2)
    assert [s.as_dict() for s in over.severity_steps] == [
        {"severity": "medium", "reason": "base severity of variable-ratio-reward"},
        {"severity": "high", "reason": "+1: responses cost money (12 % of responses carry a cost)"},
        {
            "severity": "critical",
            "reason": "+1: payouts vary widely (coefficient of variation 1.01 ≥ 1)",
        },
    ]
    under = _finding(
        _facts(slot_machine_confidence=0.51, magnitude_cv=0.99), "variable-ratio-reward"
    )
    assert under is not None
    assert (under.severity, _crossed(under)) == ("medium", {"min_confidence"})
    _check_steps(under, 0)


@pytest.mark.parametrize(
    ("rule_id", "threshold", "over", "under"),
    [
        (
            "spend-concentration",
            "high_top1_share",
            _spend((90, 1.0), (9, 10.0), (1, 61.0)),  # top 1 %: 61/241 = 0.253
            _spend((90, 1.0), (9, 10.0), (1, 59.0)),  # 59/239 = 0.247
        ),
        (
            "playing-by-appointment",
            "max_aversive_share",
            _facts(kind="fixed_interval", mean_interval_s=90_000.0, aversive_share=0.001),
            _facts(kind="fixed_interval", mean_interval_s=90_000.0, aversive_share=0.0),
        ),
        (
            "rpe-maximization",
            "responses cost money",
            _facts(**_UNCERTAIN | {"has_cost": True, "cost_share": 0.5}),
            _facts(**_UNCERTAIN),
        ),
    ],
)
def test_a_raise_is_a_step_and_its_threshold_a_criterion(
    rule_id: str, threshold: str, over: MechanicFacts, under: MechanicFacts
) -> None:
    raised, plain = _finding(over, rule_id), _finding(under, rule_id)
    assert raised is not None
    assert plain is not None
    base = DEFAULT_TABLE.rule(rule_id).severity
    assert plain.severity == base
    assert SEVERITIES.index(raised.severity) == SEVERITIES.index(base) + 1
    _check_steps(raised, 1)
    _check_steps(plain, 0)
    if threshold in {t.name for t in DEFAULT_TABLE.rule(rule_id).thresholds}:
        assert _crossed(raised) - _crossed(plain) == {threshold}
    else:
        assert threshold in raised.severity_steps[1].reason
