"""Every figure a report shows has a definition and a unit, and the report reads the same in
JSON, HTML and Markdown: each finding with the thresholds it crossed and the steps that set its
severity, each figure formatted for people as its unit says."""

from __future__ import annotations

import gzip
import html
from pathlib import Path
from typing import Any

import orjson
import pytest

from models.markers.glossary import GLOSSARY, human, report_names
from models.markers.marker_terms import MARKER_TERMS
from models.markers.schedule_terms import SCHEDULE_TERMS
from models.rules import DEFAULT_TABLE, SEVERITIES
from service.reports.finding_block import criterion_text
from service.reports.rendering import render_html, render_markdown

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.name.removesuffix(".json.gz") for p in GOLDEN.glob("*.json.gz"))


def _recorded(case: str) -> dict[str, Any]:
    report: dict[str, Any] = orjson.loads(
        gzip.decompress((GOLDEN / f"{case}.json.gz").read_bytes())
    )["report"]
    return report


def _findings(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for m in report["mechanics"] for f in m["findings"]] + report["findings"]


def test_each_name_is_defined_once() -> None:
    assert not SCHEDULE_TERMS.keys() & MARKER_TERMS.keys()
    assert len(GLOSSARY) == len(SCHEDULE_TERMS) + len(MARKER_TERMS)


@pytest.mark.parametrize("case", CASES)
def test_every_figure_of_a_pinned_report_has_an_entry(case: str) -> None:
    report = _recorded(case)
    names = report_names(report)
    assert [n for n in names if n not in GLOSSARY] == []
    assert list(report["glossary"]) == names
    assert report["glossary"] == {name: GLOSSARY[name].as_dict() for name in names}
    for name in names:
        entry = report["glossary"][name]
        assert entry["definition"]
        assert entry["unit"]


@pytest.mark.parametrize("case", CASES)
def test_every_finding_names_its_thresholds_and_severity_steps(case: str) -> None:
    report = _recorded(case)
    assert _findings(report)
    for finding in _findings(report):
        rule = DEFAULT_TABLE.rule(finding["rule_id"])
        named = {c["threshold_name"] for c in finding["criteria"]} - {None}
        assert named
        assert named <= {t.name for t in rule.thresholds}
        for c in finding["criteria"]:
            if c["threshold_name"] is not None:
                assert c["threshold"] == rule.threshold(c["threshold_name"])
            assert c["unit"] == GLOSSARY[c["marker"]].unit
        steps = finding["severity_steps"]
        assert steps[0]["severity"] == rule.severity
        assert steps[-1]["severity"] == finding["severity"]
        assert SEVERITIES.index(finding["severity"]) == SEVERITIES.index(rule.severity) + (
            len(steps) - 1
        )


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("mean_interval_s", 102_800.5611, "28.6 h"),
        ("mean_interval_s", 3600.0, "1 h"),
        ("mean_interval_s", 90.0, "90 s"),
        ("mean_interval_s", 600.0, "10 min"),
        ("mean_interval_s", 200_000.0, "2.31 d"),
        ("night_share", 0.42, "42 %"),
        ("aversive_share", 0.06052631579, "6.05 %"),
        ("spenders", 1234, "1,234"),
        ("magnitude_cv", 3.008, "3.008"),
        ("responses_cost", True, "yes"),
        ("night_share", None, "—"),
        ("kind", "fixed_interval", "fixed_interval"),
    ],
)
def test_figures_are_formatted_as_their_unit_says(name: str, value: Any, text: str) -> None:
    assert human(name, value) == text


def test_a_criterion_reads_as_a_sentence() -> None:
    criterion = {
        "marker": "night_user_share",
        "value": 0.42,
        "comparison": ">=",
        "threshold": 0.2,
        "threshold_name": "min_user_share",
        "unit": GLOSSARY["night_user_share"].unit,
    }
    assert criterion_text(criterion, {}) == (
        f"night_user_share 42 % ≥ 20 % ({GLOSSARY['night_user_share'].definition})"
    )


def test_html_and_markdown_show_the_criteria_steps_and_glossary_of_the_demo() -> None:
    report = _recorded("demo")
    page, markdown = render_html(report), render_markdown(report)
    for finding in _findings(report):
        for c in finding["criteria"]:
            text = criterion_text(c, report["glossary"])
            assert html.escape(text) in page
            assert f"    - {text}" in markdown
        for step in finding["severity_steps"]:
            line = f"{step['severity']} — {step['reason']}"
            assert html.escape(line) in page
            assert line in markdown
    assert "mean_interval_s 28.6 h ≥ 1 h (mean time from one reward to the next)" in markdown
    assert "critical — +1: payouts vary widely (coefficient of variation 3.008 ≥ 1)" in markdown
    assert page.index('id="glossary"') > page.index("data-mechanic")
    for name, entry in report["glossary"].items():
        assert f'<tr id="g-{name}"><th>{name}</th><td>{html.escape(entry["definition"])}' in page
        assert f"| {name} | {entry['definition']} | {entry['unit']} |" in markdown
    assert "| mean_interval_s | 28.6 h |" in markdown


def test_a_report_written_before_criteria_still_renders_with_its_glossary() -> None:
    report = _recorded("demo")
    del report["glossary"]
    for finding in _findings(report):
        del finding["criteria"], finding["severity_steps"]
    page, markdown = render_html(report), render_markdown(report)
    assert "Thresholds crossed" not in page
    assert "Thresholds crossed" not in markdown
    assert '<tr id="g-mean_interval_s">' in page
    assert "| mean_interval_s |" in markdown.split("## Glossary")[1]
