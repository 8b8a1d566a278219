"""Exports of hand-built reports with known content: per-user rows as a table, the gate's
verdict and JUnit XML, the scope block and the pull-request summary."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import orjson
import pyarrow.parquet as pq
import pytest

from models.rules import DEFAULT_TABLE
from service.reports.diff import diff_reports
from service.reports.gate import explain, judge
from service.reports.junit import junit_xml
from service.reports.rendering import render_html, render_markdown, scope_rows
from service.reports.summary import render_summary
from service.reports.user_table import flat_row, format_of, to_csv, to_parquet, write_rows

ROWS: list[dict[str, Any]] = [
    {
        "user_id": "u1",
        "mechanic": "slots",
        "responses": 12,
        "alpha_ci": [0.1, 0.5],
        "raised_by": ["loss_chasing", "night_play"],
        "markers": {"night_share": 0.25, "local_time_responses": None},
        "fit": {"choice": {"alpha": None}},
    },
    {
        "user_id": "u,2",
        "mechanic": "slots",
        "responses": 3,
        "alpha_ci": [None, None],
        "raised_by": [],
        "markers": {"night_share": None, "local_time_responses": None},
        "fit": {"choice": {"alpha": 0.3}},
    },
]
COLUMNS = [
    "user_id", "mechanic", "responses", "alpha_ci.low", "alpha_ci.high", "raised_by",
    "markers.night_share", "markers.local_time_responses", "fit.choice.alpha",
]  # fmt: skip


def test_rows_flatten_to_dotted_columns() -> None:
    assert list(flat_row(ROWS[0])) == COLUMNS
    assert flat_row(ROWS[0])["alpha_ci.high"] == 0.5
    assert to_csv(ROWS) == (
        ",".join(COLUMNS) + "\n"
        "u1,slots,12,0.1,0.5,loss_chasing;night_play,0.25,,\n"
        '"u,2",slots,3,,,,,,0.3\n'
    )


def test_parquet_holds_the_same_rows_with_types() -> None:
    table = pq.read_table(io.BytesIO(to_parquet(ROWS)))
    assert table.column_names == COLUMNS
    assert table.column("raised_by").to_pylist() == [["loss_chasing", "night_play"], []]
    assert table.column("markers.night_share").to_pylist() == [0.25, None]
    # a column null for every row is a number, not a column of no type
    assert str(table.schema.field("markers.local_time_responses").type) == "double"
    assert str(table.schema.field("responses").type) == "int64"


def test_the_extension_names_the_format(tmp_path: Path) -> None:
    assert [format_of(Path(n)) for n in ("a.csv", "a.PARQUET", "a.jsonl", "a.ndjson")] == [
        "csv", "parquet", "ndjson", "ndjson",
    ]  # fmt: skip
    with pytest.raises(ValueError, match=r"\.ndjson, \.csv or \.parquet"):
        format_of(Path("a.xlsx"))
    write_rows(tmp_path / "rows.ndjson", ROWS)
    lines = (tmp_path / "rows.ndjson").read_bytes().splitlines()
    assert [orjson.loads(line) for line in lines] == ROWS


def finding(rule_id: str, mechanic: str, severity: str) -> dict[str, Any]:
    return {
        "rule_id": rule_id, "mechanic": mechanic, "severity": severity,
        "insight": f"{rule_id} insight", "evidence": {"confidence": 0.98765, "bonus": {"k": 1}},
    }  # fmt: skip


REPORT: dict[str, Any] = {
    "id": "b",
    "rules_version": "sha256:abc",
    "window": {"from": "2026-05-01T00:00:00Z", "to": None, "mechanics": ["quests", "slots"]},
    "config": {"analysis": {"session_gap_s": 60.0, "alpha_grid": 25}, "rules": {}},
    "input": {"events": 10, "users": 2},
    "findings": [
        finding("variable-ratio-reward", "slots", "critical"),
        finding("loss-chasing", "slots", "medium"),
    ],
    "mechanics": [
        {"mechanic": "quests", "findings": [], "not_assessable": [
            {"rule_id": "night-engagement", "mechanic": "quests", "reason": "no local time"}]},
        {"mechanic": "slots", "findings": [], "not_assessable": []},
    ],
}  # fmt: skip


def test_the_gate_fails_on_findings_at_or_above_its_severity() -> None:
    verdict = judge(REPORT, "medium")
    assert [f["rule_id"] for f in verdict.failing] == ["variable-ratio-reward", "loss-chasing"]
    assert not verdict.passed
    assert judge(REPORT, "critical").summary() == (
        "gate failed: 1 finding(s) at or above --fail-on critical: variable-ratio-reward (slots)"
    )
    assert judge({**REPORT, "findings": []}, "info").passed
    unmatched = {**REPORT, "findings": [], "window": {**REPORT["window"], "unmatched": ["x"]}}
    assert not judge(unmatched, "info").passed
    assert judge(unmatched, "info").summary() == "not passed: mechanic(s) 'x' matched no event"
    both = {**REPORT, "window": unmatched["window"]}
    assert judge(both, "critical").summary() == (
        "gate failed: 1 finding(s) at or above --fail-on critical: variable-ratio-reward (slots)"
        "; and mechanic(s) 'x' matched no event"
    )
    assert explain(REPORT["findings"][0], "high", DEFAULT_TABLE) == (
        "FAILED variable-ratio-reward on slots: severity critical >= --fail-on high; "
        "thresholds min_confidence=0.5, "
        + ", ".join(
            f"{t.name}={t.value:g}"
            for t in DEFAULT_TABLE.rule("variable-ratio-reward").thresholds[1:]
        )
        + "; evidence confidence=0.9877"
    )


def test_junit_has_a_case_per_rule_and_mechanic() -> None:
    root = ET.fromstring(junit_xml(REPORT, "high", DEFAULT_TABLE))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["retention-audit.quests", "retention-audit.slots"]
    rules = len(DEFAULT_TABLE.rules)
    assert [(s.get("tests"), s.get("failures"), s.get("skipped")) for s in suites] == [
        (str(rules), "0", "1"), (str(rules), "1", "0"),
    ]  # fmt: skip
    failed = root.find("./testsuite/testcase/failure/..")
    assert failed is not None
    assert (failed.get("classname"), failed.get("name")) == ("slots", "variable-ratio-reward")
    below = root.find("./testsuite/testcase[@name='loss-chasing'][@classname='slots']/system-out")
    assert below is not None
    assert below.text == "finding below the gate: medium: loss-chasing insight"
    window = {**REPORT["window"], "unmatched": ["spinn"]}
    partial = ET.fromstring(junit_xml({**REPORT, "window": window}, None, DEFAULT_TABLE))
    scope = partial.find("./testsuite[@name='retention-audit.scope']/testcase/failure")
    assert scope is not None
    assert scope.get("message") == "mechanic 'spinn' matched no event"
    assert len(partial.findall(".//failure")) == 1  # no --fail-on: no finding fails


def test_the_scope_comes_first_and_the_changes_follow_the_findings() -> None:
    assert scope_rows(REPORT) == {
        "mechanics": "quests, slots",
        "from": "2026-05-01T00:00:00Z",
        "to": "the last event",
        "settings": {"session_gap_s": 60.0},  # 25 is alpha_grid's default
        "rule overrides": "none",
        "rules version": "sha256:abc",
    }
    before = {**REPORT, "id": "a", "findings": [finding("loss-chasing", "slots", "low")]}
    diff = diff_reports(before, REPORT)
    markdown = render_markdown(REPORT, diff)
    assert markdown.index("## Scope") < markdown.index("## Findings")
    assert "| settings | session_gap_s: 60 |" in markdown
    assert markdown.index("## Findings") < markdown.index("## Changes since the previous audit")
    assert "- **severity** `loss-chasing` (slots): low → medium" in markdown
    assert "Changes since" not in render_markdown(REPORT)
    page = render_html(REPORT, diff)
    assert (
        page.index('id="scope"') < page.index('id="severity-summary"') < page.index('id="changes"')
    )
    summary = render_summary(REPORT, diff, "high")
    assert summary.splitlines()[0] == "### ❌ Retention Audit: 1 critical, 1 medium"
    assert "| critical | `variable-ratio-reward` | slots | variable-ratio-reward insight |" in (
        summary
    )
    assert "- **new** critical `variable-ratio-reward` (slots): variable-ratio-reward insight" in (
        summary
    )
    ungated = render_summary(REPORT, diff)
    assert ungated.splitlines()[0] == "### ➖ Retention Audit: 1 critical, 1 medium"
    assert ungated.splitlines()[2].startswith("no gate applied (no fail-on severity given) · ")
    assert "✅" not in ungated
    passed = render_summary({**REPORT, "findings": []}, None, "high")
    assert passed.splitlines()[0] == "### ✅ Retention Audit: no findings"


# a mechanic name an ingest key chose: a link, an image, a table break and a new line
HOSTILE = "x](https://evil.example)|![p](y)\n# *bold*_<b>"
INERT = r"x\]\(https://evil\.example\)\|\!\[p\]\(y\) \# \*bold\*\_\<b\>"


def test_event_data_is_inert_in_markdown_and_csv() -> None:
    report = {
        **REPORT,
        "window": {**REPORT["window"], "mechanics": [HOSTILE]},
        "findings": [finding("loss-chasing", HOSTILE, "medium")],
        "mechanics": [{"mechanic": HOSTILE, "findings": [], "not_assessable": []}],
    }
    before = {**report, "id": "a", "findings": [finding("loss-chasing", HOSTILE, "low")]}
    diff = diff_reports(before, report)
    summary = render_summary(report, diff)
    markdown = render_markdown(report, diff)
    for text in (summary, markdown):
        assert HOSTILE not in text
        assert "](https://evil.example)" not in text
        assert "\n# " not in text
    assert f"| medium | `loss-chasing` | {INERT} | loss-chasing insight |" in summary
    assert f"| mechanics | {INERT} |" in summary
    assert f"- **severity** `loss-chasing` ({INERT}): low → medium" in summary
    assert f"## {INERT}\n" in markdown
    assert f"({INERT}): loss-chasing insight" in markdown
    # the HTML page escapes as HTML, without Markdown's backslashes
    assert "\\]" not in render_html(report, diff).split('id="changes"')[1].split("</ul>")[0]

    rows = [
        {"user_id": user, "mechanic": "=cmd", "responses": -3, "spend": -1.5}
        for user in ('=HYPERLINK("x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", "ok")
    ]
    text = to_csv(rows)
    assert "\n'\rx," in text
    cells = [row[0] for row in csv.reader(io.StringIO(text.replace("'\rx", "'x")))][1:]
    assert cells == ['\'=HYPERLINK("x")', "'+1", "'-2", "'@SUM(A1)", "'\tx", "'x", "ok"]
    assert to_csv(rows[-1:]).splitlines()[1] == "ok,'=cmd,-3,-1.5"  # numbers stay numbers
