"""Bulk import: history from export files into a project, through the ingestion path.

Each file is read record by record (`service.vendors.exports`) and stored in batches of
`BATCH` records, one transaction each, by the same functions as the HTTP routes: native
records by `ingest`, vendor records by their adapter, the project's mapping and
`ingest_vendor`, so validation, dedup by message id and the project's counts are those of a
request. On PostgreSQL every batch is copied into a staging table and inserted with ON
CONFLICT DO NOTHING, so importing a file again adds nothing; on SQLite, batched INSERTs.
Bad records are named (file, line, field, reason) and counted; the others are stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, islice
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from service.ingestion.ingest import IngestResult, ingest
from service.projects.projects import get_project
from service.settings import Settings
from service.storage.db import transaction
from service.vendors.adapters.common import bounded
from service.vendors.exports import Record, detect, read_records, translate
from service.vendors.ingest import ingest_vendor

BATCH = 20_000  # records per transaction: bounded memory, and a COPY large enough to pay
MAX_ERRORS = 100  # bad records listed in the summary (all are counted)


@dataclass(frozen=True, slots=True)
class BadRecord:
    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "reason": self.reason}


@dataclass(slots=True)
class ImportSummary:
    """What an import did: records accepted (new), duplicate (already stored, or twice in
    the files) and rejected, by reason, with the first `MAX_ERRORS` bad records named."""

    files: dict[str, str] = field(default_factory=dict)  # file → the format it was read as
    accepted: int = 0
    duplicate: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    errors: list[BadRecord] = field(default_factory=list)

    def reject(self, bad: BadRecord) -> None:
        self.rejected[f"{bad.field}: {bad.reason}" if bad.field else bad.reason] += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(bad)

    def add(self, records: Sequence[Record], result: IngestResult) -> None:
        for outcome in result.results:
            if outcome.status == "accepted":
                self.accepted += 1
            elif outcome.status == "duplicate":
                self.duplicate += 1
            else:
                where = records[outcome.index]
                self.reject(
                    BadRecord(where.file, where.line, outcome.field or "", outcome.reason or "")
                )

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "rejected": sum(self.rejected.values()),
            "rejected_by_reason": dict(sorted(self.rejected.items())),
            "errors": [e.as_dict() for e in self.errors],
        }


def import_files(
    factory: sessionmaker[Session],
    *,
    project_id: int,
    paths: Sequence[Path],
    settings: Settings,
    fmt: str = "auto",
    now: datetime | None = None,
    batch: int = BATCH,
) -> ImportSummary:
    """Import `paths` into the project, each in `fmt` (or the format `detect` tells)."""
    now = now or datetime.now(UTC)
    with transaction(factory) as session:
        get_project(session, project_id)  # NotFound before any file is read
    summary = ImportSummary()
    for path in paths:
        records = read_records(path)
        first = next(records, None)
        kind = detect(path, first) if fmt == "auto" else fmt
        summary.files[str(path)] = kind
        every = chain([first], records) if first is not None else records
        for chunk in _batches(every, batch):
            readable = [r for r in chunk if not r.unreadable]
            for r in chunk:
                if r.unreadable:
                    summary.reject(BadRecord(r.file, r.line, r.item.field, r.item.reason))
            if not readable:
                continue
            with transaction(factory) as session:
                result = _store(session, kind, readable, project_id, settings, now)
            summary.add(readable, result)
    return summary


def _store(
    session: Session,
    kind: str,
    records: Sequence[Record],
    project_id: int,
    settings: Settings,
    now: datetime,
) -> IngestResult:
    limits: dict[str, Any] = {
        "now": now,
        "future_tolerance_s": settings.future_tolerance_s,
        "max_abs_value": settings.max_abs_value,
        "max_cost": settings.max_cost,
        "staging": True,
    }
    if kind == "native":
        items = [r.item for r in records]
        return ingest(session, project_id=project_id, items=items, **limits)
    translated = bounded(
        [translate(kind, r.item) for r in records],
        now=now,
        future_tolerance_s=settings.future_tolerance_s,
    )
    return ingest_vendor(session, project_id=project_id, items=translated, **limits)


def _batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk
