"""The diff of two hand-built reports whose changes are known."""

from __future__ import annotations

import math
from typing import Any

import pytest

from service.reports.diff import MarkerMove, ScheduleChange, SeverityChange, diff_reports
from service.reports.rendering import changes_markdown


def finding(rule_id: str, mechanic: str, severity: str) -> dict[str, Any]:
    return {"rule_id": rule_id, "mechanic": mechanic, "severity": severity, "insight": "x"}


def mechanic(
    name: str,
    kind: str,
    *,
    loss_chasing: tuple[int, int] = (100, 10),
    alpha: tuple[float, float, float] | None = (0.2, 0.3, 0.4),
) -> dict[str, Any]:
    tested, flagged = loss_chasing
    users: dict[str, Any] = {"count": 100, "fitted": 90}
    if alpha is not None:
        users["alpha"] = {"p10": alpha[0], "median": alpha[1], "p90": alpha[2]}
    return {
        "mechanic": name,
        "schedule": {"kind": kind},
        "users": users,
        "markers": {
            "night_share": 0.1,
            "user_flags": {
                "false_discovery_rate": 0.1,
                "loss_chasing": {"tested": tested, "flagged": flagged},
                "night_play": {"tested": 0, "flagged": 0},
            },
        },
    }


def report(rid: str, findings: list[Any], mechanics: list[Any]) -> dict[str, Any]:
    return {"id": rid, "findings": findings, "mechanics": mechanics}


BEFORE = report(
    "a",
    [finding("loss-chasing", "slots", "medium"), finding("night-play", "slots", "low")],
    [mechanic("slots", "fixed_ratio"), mechanic("streak", "fixed_interval")],
)
AFTER = report(
    "b",
    [
        finding("loss-chasing", "slots", "high"),
        finding("variable-ratio-reward", "slots", "high"),
        finding("variable-ratio-reward", "box", "medium"),
    ],
    [
        # 30 of 100 flagged: outside the Wilson interval of 10 of 100 (about 0.055 to 0.174)
        mechanic("slots", "variable_ratio", loss_chasing=(100, 30), alpha=(0.1, 0.35, 0.5)),
        # 14 of 100: inside it; the median 0.45 leaves the earlier 0.2 to 0.4
        mechanic("streak", "fixed_interval", loss_chasing=(100, 14), alpha=(0.3, 0.45, 0.6)),
        mechanic("box", "variable_ratio"),
    ],
)


def test_findings_new_resolved_and_changed() -> None:
    diff = diff_reports(BEFORE, AFTER)
    assert (diff.before_id, diff.after_id) == ("a", "b")
    assert [(f["rule_id"], f["mechanic"]) for f in diff.new_findings] == [
        ("variable-ratio-reward", "box"),
        ("variable-ratio-reward", "slots"),
    ]
    assert diff.new_findings[1] == finding("variable-ratio-reward", "slots", "high")
    assert diff.resolved_findings == [finding("night-play", "slots", "low")]
    assert diff.changed_severity == [SeverityChange("loss-chasing", "slots", "medium", "high")]


def test_schedule_kinds_per_mechanic() -> None:
    diff = diff_reports(BEFORE, AFTER)
    assert diff.schedule_changes == [
        ScheduleChange("box", None, "variable_ratio"),
        ScheduleChange("slots", "fixed_ratio", "variable_ratio"),
    ]


def test_markers_beyond_their_intervals() -> None:
    diff = diff_reports(BEFORE, AFTER)
    # Wilson 95 % interval of 10/100, by hand: centre (0.1 + z²/200)/(1 + z²/100), z = 1.959964
    z = 1.959963984540054
    centre = (0.1 + z * z / 200) / (1 + z * z / 100)
    half = z / (1 + z * z / 100) * math.sqrt(0.1 * 0.9 / 100 + z * z / 40_000)
    assert [(m.mechanic, m.marker) for m in diff.marker_moves] == [
        ("slots", "user_flags.loss_chasing"),
        ("streak", "users.alpha.median"),
    ]
    moved = diff.marker_moves[0]
    assert (moved.before, moved.after) == (0.1, 0.3)
    assert moved.interval == pytest.approx((centre - half, centre + half), rel=1e-9)
    assert moved.interval == pytest.approx((0.0552, 0.1744), abs=1e-4)
    assert moved.interval_kind == "wilson-95"
    assert diff.marker_moves[1] == MarkerMove(
        "streak", "users.alpha.median", 0.3, 0.45, (0.2, 0.4), "users-p10-p90"
    )


def test_a_report_against_itself_is_unchanged() -> None:
    diff = diff_reports(AFTER, AFTER)
    assert diff.unchanged
    assert diff.as_dict()["new_findings"] == []
    assert not diff_reports(BEFORE, AFTER).unchanged


def test_self_diffs_never_move_a_marker() -> None:
    # none or all users flagged: the share lies on the edge of its own Wilson interval
    for tested in range(1, 201):
        for flagged in (0, 1, tested // 2, tested):
            one = report(
                "a", [], [mechanic("slots", "fixed_ratio", loss_chasing=(tested, flagged))]
            )
            assert diff_reports(one, one).marker_moves == [], (tested, flagged)


def test_as_dict_is_plain_json() -> None:
    out = diff_reports(BEFORE, AFTER).as_dict()
    assert out["changed_severity"] == [
        {"rule_id": "loss-chasing", "mechanic": "slots", "before": "medium", "after": "high"}
    ]
    assert out["marker_moves"][1]["interval"] == [0.2, 0.4]


def test_reports_of_other_scopes_compare_the_mechanics_both_cover() -> None:
    # BEFORE covered all mechanics; the later audit asked for the box and the slot machine only:
    # the streak is neither resolved nor absent, and the box is compared
    after = {**AFTER, "window": {"from": None, "to": None, "mechanics": ["slots", "box"]}}
    diff = diff_reports(BEFORE, after)
    assert diff.scope_changed == ["mechanics"]
    assert diff.compared_mechanics == ["box", "slots"]
    assert [c.mechanic for c in diff.schedule_changes] == ["box", "slots"]
    assert {f["mechanic"] for f in diff.new_findings} == {"slots", "box"}
    assert [m.mechanic for m in diff.marker_moves] == ["slots"]
    assert "_The audits differ in scope (mechanics): only box, slots compared" in "\n".join(
        changes_markdown(diff)
    )
    assert diff_reports(BEFORE, AFTER).scope_changed == []
    narrower = {**BEFORE, "window": {"mechanics": ["streak"], "to": "2026-01-01T00:00:00Z"}}
    apart = diff_reports(narrower, after)
    assert apart.scope_changed == ["mechanics", "to"]
    assert apart.compared_mechanics == []
    assert apart.unchanged
