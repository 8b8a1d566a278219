"""The gate of a pipeline: which findings of a report reach a severity, and why the run passes
or fails. A report whose scope named mechanics that matched no event never passes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from models.rules import DecisionTable
from service.reports.rendering import SEVERITIES, sorted_findings


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """`failing`: the findings at or above `fail_on` (none when there is no threshold);
    `unmatched`: mechanics the scope named that matched no event."""

    fail_on: str | None
    failing: list[Mapping[str, Any]]
    unmatched: list[str]

    @property
    def passed(self) -> bool:
        return not self.failing and not self.unmatched

    def summary(self) -> str:
        """One line: the verdict and why."""
        unmatched = (
            "mechanic(s) " + ", ".join(repr(m) for m in self.unmatched) + " matched no event"
        )
        if self.failing:
            rules = ", ".join(f"{f['rule_id']} ({f['mechanic']})" for f in self.failing)
            also = f"; and {unmatched}" if self.unmatched else ""
            return (
                f"gate failed: {len(self.failing)} finding(s) at or above "
                f"--fail-on {self.fail_on}: {rules}{also}"
            )
        if self.unmatched:
            return f"not passed: {unmatched}"
        if self.fail_on is None:
            return "audited (no --fail-on: the gate does not judge findings)"
        return f"gate passed: no finding at or above --fail-on {self.fail_on}"


def judge(report: Mapping[str, Any], fail_on: str | None) -> GateVerdict:
    failing: list[Mapping[str, Any]] = []
    if fail_on is not None:
        floor = SEVERITIES[fail_on]
        failing = [
            f
            for f in sorted_findings(report.get("findings") or [])
            if SEVERITIES[f["severity"]] >= floor
        ]
    unmatched = list((report.get("window") or {}).get("unmatched") or [])
    return GateVerdict(fail_on, failing, unmatched)


def explain(finding: Mapping[str, Any], fail_on: str, table: DecisionTable | None) -> str:
    """Why a finding fails the gate: its rule, mechanic, severity against the threshold, the
    rule's thresholds (as configured for this audit) and the evidence it read."""
    parts = [
        f"FAILED {finding['rule_id']} on {finding['mechanic']}: severity "
        f"{finding['severity']} >= --fail-on {fail_on}"
    ]
    if table is not None:
        try:
            rule = table.rule(finding["rule_id"])
        except KeyError:
            rule = None
        if rule is not None and rule.thresholds:
            parts.append(
                "thresholds " + ", ".join(f"{t.name}={t.value:g}" for t in rule.thresholds)
            )
    evidence = finding.get("evidence") or {}
    shown = [f"{k}={_short(v)}" for k, v in evidence.items() if not isinstance(v, Mapping)]
    if shown:
        parts.append("evidence " + ", ".join(shown))
    return "; ".join(parts)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
