"""Chain export: a project's chain entries as NDJSON, one line per report, oldest first, for
an operator to keep outside the database (and publish its last line, the head).

Exporting to a file only appends: the entries the file already holds are first compared with
the stored chain, and if the database no longer agrees with any of them (a report deleted or
rewritten since it was exported) nothing is written and the export fails, naming the line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TextIO

import orjson
from sqlalchemy.orm import Session

from service.projects.projects import get_project
from service.reports.chain import chain_entries


class ExportMismatch(Exception):
    """The exported file and the stored chain disagree."""


class ExportUnreadable(Exception):
    """The file to append to is not a chain export."""


def export_chain(session: Session, project_id: int, out: Path | None, stdout: TextIO) -> int:
    """Write the project's entries not yet in `out` (all of them to `stdout` without `out`);
    returns how many were written. NotFound for an unknown project."""
    get_project(session, project_id)
    stored = list(chain_entries(session, project_id))
    if out is None:
        stdout.write("".join(_line(e) for e in stored))
        return len(stored)
    exported = read_export(out) if out.exists() else []
    _check(exported, stored)
    new = stored[len(exported) :]
    if new:
        with out.open("a", encoding="utf-8") as file:
            file.write("".join(_line(e) for e in new))
            file.flush()
            os.fsync(file.fileno())
    return len(new)


def read_export(path: Path) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise ExportUnreadable(f"{path}, line {number}: not a JSON chain entry") from None
        if not isinstance(entry, dict) or "digest" not in entry:
            raise ExportUnreadable(f"{path}, line {number}: not a chain entry")
        entries.append(entry)
    return entries


def _check(exported: list[dict[str, Any]], stored: list[dict[str, Any]]) -> None:
    for number, entry in enumerate(exported, start=1):
        if number > len(stored):
            raise ExportMismatch(
                f"line {number} (report {entry.get('sequence')}, {entry.get('digest')}) is no "
                f"longer stored: the chain holds {len(stored)} reports"
            )
        if entry != stored[number - 1]:
            differing = sorted(
                k for k in entry.keys() | stored[number - 1].keys()
                if entry.get(k) != stored[number - 1].get(k)
            )  # fmt: skip
            raise ExportMismatch(
                f"line {number} (report {entry.get('sequence')}) differs from the stored chain "
                f"in {', '.join(differing)}: the chain was rewritten since it was exported"
            )


def _line(entry: dict[str, Any]) -> str:
    return orjson.dumps(entry).decode() + "\n"
