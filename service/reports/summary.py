"""The report as a short Markdown summary for a pull-request comment: the verdict, the scope,
the findings by severity and what changed since the previous report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.reports.diff import ReportDiff
from service.reports.gate import judge
from service.reports.rendering import (
    SEVERITIES,
    changes_markdown,
    md_table,
    scope_rows,
    sorted_findings,
)


def render_summary(
    report: Mapping[str, Any], diff: ReportDiff | None = None, fail_on: str | None = None
) -> str:
    findings = sorted_findings(report.get("findings") or [])
    verdict = judge(report, fail_on)
    counts = [
        f"{n} {s}"
        for s in reversed(SEVERITIES)
        if (n := sum(1 for f in findings if f["severity"] == s))
    ]
    mark = "✅" if verdict.passed else "❌"
    out = [
        f"### {mark} Retention Audit: {', '.join(counts) or 'no findings'}",
        "",
        f"{verdict.summary()} · report `{report.get('id')}` · input "
        f"{(report.get('input') or {}).get('events')} events, "
        f"{(report.get('input') or {}).get('users')} users",
        "",
        "<details><summary>Scope</summary>",
        "",
        md_table(scope_rows(report)),
        "",
        "</details>",
        "",
    ]
    if findings:
        out += ["| Severity | Rule | Mechanic | Finding |", "|---|---|---|---|"]
        out += [
            f"| {f['severity']} | `{f['rule_id']}` | {f['mechanic']} | "
            f"{str(f.get('insight')).replace('|', '/')} |"
            for f in findings
        ]
        out.append("")
    if diff is not None:
        out += changes_markdown(diff)
    return "\n".join(out).rstrip("\n") + "\n"


def nothing_summary(reason: str) -> str:
    """The summary of an audit over nothing: it has no report and never passes."""
    return f"### ❌ Retention Audit: nothing audited\n\n{reason}: no report, the gate fails.\n"
