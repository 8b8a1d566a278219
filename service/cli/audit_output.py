"""What `retention-audit audit` does with a report: render it, write the exports, judge the
gate and say on standard error why the exit status is what it is."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from service.audits.planning import AuditPlan
from service.cli.common import EXIT_EMPTY, EXIT_GATE_FAILED, EXIT_PASSED
from service.cli.diff import read_report
from service.reports.diff import ReportDiff, diff_reports
from service.reports.gate import explain, judge
from service.reports.junit import junit_nothing, junit_xml
from service.reports.rendering import render_html, render_markdown
from service.reports.summary import nothing_summary, render_summary
from service.reports.user_table import format_of, write_rows

FORMATS = ("json", "markdown", "markdown-summary", "html")


def add_arguments(audit: argparse.ArgumentParser) -> None:
    audit.add_argument(
        "--against",
        type=Path,
        metavar="REPORT.json",
        help="a previous JSON report: show what changed since it (Markdown, HTML, summary)",
    )
    audit.add_argument(
        "--users",
        type=Path,
        metavar="PATH",
        help="write the per-user rows here, as .ndjson, .csv or .parquet by extension",
    )
    audit.add_argument(
        "--junit", type=Path, metavar="PATH", help="write the gate's findings as JUnit XML here"
    )


def check_paths(args: argparse.Namespace) -> None:
    """Raise ValueError for an export path or previous report that cannot be used, before
    the audit runs."""
    if args.users is not None:
        format_of(args.users)
    if args.against is not None:
        if not args.against.is_file():
            raise ValueError(f"--against {args.against}: no such file")
        try:
            read_report(args.against)
        except ValueError as exc:
            raise ValueError(f"--against {exc}") from None


def previous_diff(args: argparse.Namespace, report: dict[str, Any]) -> ReportDiff | None:
    if args.against is None:
        return None
    try:
        before = read_report(args.against)
    except ValueError as exc:
        raise ValueError(f"--against {exc}") from None
    return diff_reports(before, report)


def render(report: dict[str, Any], args: argparse.Namespace, diff: ReportDiff | None) -> str:
    if args.format == "markdown":
        return render_markdown(report, diff)
    if args.format == "markdown-summary":
        return render_summary(report, diff, args.fail_on)
    if args.format == "html":
        return render_html(report, diff)
    return orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n"


def finish(report: dict[str, Any], args: argparse.Namespace, plan: AuditPlan) -> int:
    """Write the report and its exports; the exit status, explained on standard error."""
    diff = previous_diff(args, report)
    rendered = render(report, args, diff)
    if args.out:
        args.out.write_text(rendered, encoding="utf-8")
    else:
        sys.stdout.write(rendered)
    if args.users is not None:
        write_rows(args.users, report.get("user_results") or [])
    if args.junit is not None:
        args.junit.write_text(junit_xml(report, args.fail_on, plan.table), encoding="utf-8")
    verdict = judge(report, args.fail_on)
    for finding in verdict.failing:
        sys.stderr.write(f"retention-audit: {explain(finding, args.fail_on, plan.table)}\n")
    if verdict.failing:
        code = EXIT_GATE_FAILED
    elif verdict.unmatched:
        code = EXIT_EMPTY
    else:
        code = EXIT_PASSED
    if args.out or code != EXIT_PASSED:
        where = f"report written to {args.out}; " if args.out else ""
        sys.stderr.write(f"retention-audit: {where}{verdict.summary()}; exit {code}\n")
    return code


def nothing_audited(reason: str, args: argparse.Namespace) -> int:
    """An audit over nothing: no report, but the gate's own outputs (a pull-request summary
    with --out, JUnit XML) say it failed and why, so a pipeline shows it."""
    written = ""
    if args.format == "markdown-summary" and args.out:
        args.out.write_text(nothing_summary(reason), encoding="utf-8")
        written = f"summary written to {args.out}; "
    if args.junit is not None:
        args.junit.write_text(junit_nothing(reason), encoding="utf-8")
    sys.stderr.write(
        f"retention-audit: nothing audited, {reason}; no report; {written}exit {EXIT_EMPTY} "
        "(an empty audit never passes)\n"
    )
    return EXIT_EMPTY
