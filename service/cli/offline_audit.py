"""`retention-audit audit`: native event files audited offline, with no server or database."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from models.analysis import Progress
from service.audits.planning import plan_audit
from service.audits.scope import NothingToAudit
from service.cli import audit_output
from service.cli.common import EXIT_BAD_INPUT
from service.errors import InvalidInput
from service.reports.rendering import SEVERITIES
from service.settings import get_settings

if TYPE_CHECKING:
    from service.ingestion.columnar import InputError


def add_commands(commands: Any) -> None:
    audit = commands.add_parser(
        "audit",
        help="audit native event files offline (NDJSON, JSON, CSV, Parquet; gzip allowed)",
    )
    audit.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="a path, a glob, - for standard input, or a URL (s3://…, gs://…, any fsspec file "
        "system)",
    )
    audit.add_argument(
        "--format",
        choices=list(audit_output.FORMATS),
        default="json",
        help="markdown-summary: a short summary for a pull-request comment",
    )
    audit.add_argument(
        "--fail-on",
        choices=list(SEVERITIES),
        help="exit with status 3 when a finding reaches this severity (and name it on stderr)",
    )
    audit.add_argument("--out", type=Path, help="write the report here instead of stdout")
    audit.add_argument("--mechanic", action="append", help="audit only these (repeatable)")
    audit.add_argument("--from", dest="start", help="window start (RFC 3339)")
    audit.add_argument("--to", dest="end", help="window end, exclusive (RFC 3339)")
    audit.add_argument(
        "--config", help="analysis settings and rule overrides as JSON (or @file.json)"
    )
    audit.add_argument(
        "--time-zone",
        metavar="ZONE",
        help="the product's IANA time zone (e.g. Europe/Berlin): local time of events sent "
        "without offset (a time_zone in --config wins)",
    )
    audit.add_argument(
        "--processes", type=int, help="processes for the analysis (default: this machine's cores)"
    )
    audit.add_argument(
        "--scheduler",
        metavar="tcp://HOST:8786",
        help="run the analysis on this Dask distributed cluster (default: local processes)",
    )
    audit_output.add_arguments(audit)
    audit.add_argument(
        "--skip-invalid",
        action="store_true",
        help="leave invalid rows out (named on stderr, counted in the report's input.skipped) "
        "instead of refusing the input",
    )
    audit.set_defaults(handler=_audit)


def _audit(args: argparse.Namespace) -> int:
    from service.audits.distributed import ClusterUnavailable
    from service.audits.offline import BadInput, audit_files

    try:
        plan = plan_audit(_audit_request(args), time_zone=args.time_zone)
        audit_output.check_paths(args)
    except (InvalidInput, ValueError) as exc:
        sys.stderr.write(f"retention-audit: {exc}\n")
        return EXIT_BAD_INPUT
    with _progress_bar() as progress:
        try:
            report = audit_files(
                list(args.files),
                plan,
                progress=progress,
                processes=args.processes or get_settings().processes(),
                scheduler=args.scheduler,
                skip_invalid=args.skip_invalid,
                on_skipped=_SkippedRows(),
            )
        except BadInput as exc:
            for error in exc.errors[:20]:
                sys.stderr.write(f"{error}\n")
            if len(exc.errors) + exc.more > 20:
                sys.stderr.write(f"… and {len(exc.errors) + exc.more - 20} more\n")
            return EXIT_BAD_INPUT
        except NothingToAudit as empty:
            return audit_output.nothing_audited(empty.reason, args)
        except ClusterUnavailable as exc:  # --scheduler names no reachable cluster
            sys.stderr.write(f"retention-audit: {exc}\n")
            return EXIT_BAD_INPUT
    skipped = report["input"].get("skipped")
    if skipped:
        sys.stderr.write(f"retention-audit: skipped {skipped} invalid rows\n")
    try:
        return audit_output.finish(report, args, plan)
    except ValueError as exc:
        sys.stderr.write(f"retention-audit: {exc}\n")
        return EXIT_BAD_INPUT


def _audit_request(args: argparse.Namespace) -> dict[str, Any]:
    request: dict[str, Any] = {}
    if args.mechanic:
        request["mechanics"] = args.mechanic
    if args.start:
        request["from"] = args.start
    if args.end:
        request["to"] = args.end
    if args.config:
        text = Path(args.config[1:]).read_text() if args.config.startswith("@") else args.config
        try:
            request["config"] = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"--config is not valid JSON: {exc}") from None
    return request


class _SkippedRows:
    """Each skipped row named on stderr, up to `SHOWN`."""

    SHOWN = 20

    def __init__(self) -> None:
        self.shown = 0

    def __call__(self, error: InputError) -> None:
        if self.shown < self.SHOWN:
            sys.stderr.write(f"skipped {error}\n")
        self.shown += 1


@contextmanager
def _progress_bar() -> Iterator[Progress | None]:
    """A progress bar on a terminal, moving with the bytes read, then with each stage of the
    analysis (partitions fitted, mechanics assessed); silence otherwise (pipes, CI)."""
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    shape = "{desc}{percentage:3.0f}% |{bar}| {elapsed}"
    with tqdm(total=1, file=sys.stderr, leave=False, bar_format=shape) as bar:

        def update(stage: str, done: int, total: int) -> None:
            bar.set_description(stage, refresh=False)
            bar.total = max(total, 1)
            bar.n = done
            bar.refresh()

        yield update
