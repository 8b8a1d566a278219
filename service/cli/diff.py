"""`retention-audit diff BEFORE.json AFTER.json`: what changed from one JSON report to
another (findings new, resolved and of changed severity, schedule kinds, marker moves)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from service.cli.common import EXIT_BAD_INPUT, EXIT_PASSED, print_json
from service.reports.diff import check_comparable, diff_reports
from service.reports.rendering import changes_markdown


def add_commands(commands: Any) -> None:
    diff = commands.add_parser(
        "diff", help="what changed from one JSON report (e.g. the previous audit) to another"
    )
    diff.add_argument("before", type=Path, metavar="BEFORE.json")
    diff.add_argument("after", type=Path, metavar="AFTER.json")
    diff.add_argument("--format", choices=["json", "markdown"], default="json")
    diff.set_defaults(handler=_diff)


def _diff(args: argparse.Namespace) -> int:
    try:
        before, after = read_report(args.before), read_report(args.after)
    except ValueError as exc:
        sys.stderr.write(f"retention-audit: {exc}\n")
        return EXIT_BAD_INPUT
    changes = diff_reports(before, after)
    if args.format == "markdown":
        sys.stdout.write("\n".join(changes_markdown(changes)))
    else:
        print_json(changes.as_dict())
    return EXIT_PASSED


def read_report(path: Path) -> dict[str, Any]:
    """A JSON report from a file, checked to have what the diff reads; ValueError naming the
    file and the field when it cannot be used."""
    try:
        report = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON: {exc}") from None
    try:
        check_comparable(report)
    except ValueError as exc:
        raise ValueError(f"{path}: not a JSON report: {exc}") from None
    return dict(report)
