"""The report as a short Markdown summary for a pull-request comment: the verdict, the scope,
the findings by severity and what changed since the previous report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.reports.diff import ReportDiff
from service.reports.gate import judge
from service.reports.markdown_text import md_text
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
    """The summary; with `fail_on` (a severity) it carries the gate's verdict (✅ or ❌), without
    it a neutral mark and "no gate applied" (❌ still when the scope matched nothing)."""
    findings = sorted_findings(report.get("findings") or [])
    verdict = judge(report, fail_on)
    counts = [
        f"{n} {s}"
        for s in reversed(SEVERITIES)
        if (n := sum(1 for f in findings if f["severity"] == s))
    ]
    if not verdict.passed:
        mark, judged = "❌", verdict.summary()
    elif fail_on is None:  # no threshold, no verdict: a pass would hide a critical finding
        mark, judged = "➖", "no gate applied (no fail-on severity given)"
    else:
        mark, judged = "✅", verdict.summary()
    out = [
        f"### {mark} Retention Audit: {', '.join(counts) or 'no findings'}",
        "",
        f"{judged} · report `{report.get('id')}` · input "
        f"{(report.get('input') or {}).get('events')} events, "
        f"{(report.get('input') or {}).get('users')} users",
        "",
        "<details><summary>Scope</summary>",
        "",
        md_table(scope_rows(report, md_text)),
        "",
        "</details>",
        "",
    ]
    if findings:
        out += ["| Severity | Rule | Mechanic | Finding |", "|---|---|---|---|"]
        out += [
            f"| {f['severity']} | `{f['rule_id']}` | {md_text(f['mechanic'])} | "
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
