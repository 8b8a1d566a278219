"""The gate's findings as JUnit XML, which CI systems display: one test case per rule and
mechanic evaluated, failed when the rule's finding reaches the gate's severity, skipped when
the rule could not be assessed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree as ET

from models.rules import DecisionTable
from service.reports.gate import explain, judge


def junit_xml(report: Mapping[str, Any], fail_on: str | None, table: DecisionTable) -> str:
    """`table`: the rules the audit applied (with its overrides)."""
    failing = {(f["rule_id"], f["mechanic"]) for f in judge(report, fail_on).failing}
    found = {(f["rule_id"], f["mechanic"]): f for f in report.get("findings") or []}
    suites = ET.Element("testsuites", name="retention-audit")
    for unmatched in (report.get("window") or {}).get("unmatched") or []:
        _failed_scope(suites, f"mechanic {unmatched!r} matched no event")
    for mechanic in report.get("mechanics") or []:
        name = mechanic["mechanic"]
        skipped = {n["rule_id"]: n for n in mechanic.get("not_assessable") or []}
        suite = ET.SubElement(suites, "testsuite", name=f"retention-audit.{name}")
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        for rule in table.rules:
            key = (rule.rule_id, name)
            case = ET.SubElement(suite, "testcase", classname=name, name=rule.rule_id)
            counts["tests"] += 1
            finding = found.get(key)
            if key in failing and finding is not None and fail_on is not None:
                failure = ET.SubElement(
                    case,
                    "failure",
                    type=finding["severity"],
                    message=f"{finding['insight']} ({finding['severity']})",
                )
                failure.text = explain(finding, fail_on, table)
                counts["failures"] += 1
            elif finding is not None:
                out = ET.SubElement(case, "system-out")
                out.text = f"finding below the gate: {finding['severity']}: {finding['insight']}"
            elif rule.rule_id in skipped:
                ET.SubElement(case, "skipped", message=skipped[rule.rule_id]["reason"])
                counts["skipped"] += 1
        for attribute, count in counts.items():
            suite.set(attribute, str(count))
    return _xml(suites)


def junit_nothing(reason: str) -> str:
    """An audit over nothing as one failed test case: the scope."""
    suites = ET.Element("testsuites", name="retention-audit")
    _failed_scope(suites, reason)
    return _xml(suites)


def _failed_scope(suites: ET.Element, reason: str) -> None:
    suite = ET.SubElement(
        suites, "testsuite", name="retention-audit.scope", tests="1", failures="1", skipped="0"
    )
    case = ET.SubElement(suite, "testcase", classname="scope", name="events-in-scope")
    ET.SubElement(case, "failure", type="empty", message=reason).text = reason


def _xml(suites: ET.Element) -> str:
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"
