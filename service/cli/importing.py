"""`retention-audit import`: history from export files loaded into a project in bulk."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from service.cli.common import print_json, session_factory
from service.vendors.exports import FORMATS

ERRORS_SHOWN = 20


def add_commands(commands: Any) -> None:
    command = commands.add_parser(
        "import",
        help="load history into a project: native files or vendor exports (Amplitude, "
        "Mixpanel, Segment/RudderStack, PostHog)",
    )
    command.add_argument("project_id", type=int, metavar="PROJECT")
    command.add_argument("files", nargs="+", type=Path, metavar="FILE")
    command.add_argument(
        "--format",
        choices=["auto", *FORMATS],
        default="auto",
        help="what the files hold (default: told by each file's container and first record)",
    )
    command.set_defaults(handler=_import)


def _import(args: argparse.Namespace) -> int:
    """Exit 0 when every record was stored or already there, 1 when some were rejected, 2 when
    nothing could be imported (no such project, a file that cannot be read)."""
    from service.errors import NotFound
    from service.ingestion.bulk import import_files
    from service.settings import get_settings
    from service.vendors.exports import UnknownFormat

    try:
        summary = import_files(
            session_factory(),
            project_id=args.project_id,
            paths=list(args.files),
            settings=get_settings(),
            fmt=args.format,
        )
    except (NotFound, UnknownFormat, OSError) as exc:
        sys.stderr.write(f"retention-audit: {exc}\n")
        return 2
    for bad in summary.errors[:ERRORS_SHOWN]:
        sys.stderr.write(f"{bad}\n")
    rejected = sum(summary.rejected.values())
    if rejected > ERRORS_SHOWN:
        sys.stderr.write(f"… and {rejected - ERRORS_SHOWN} more rejected\n")
    print_json(summary.as_dict())
    return 1 if rejected else 0
