"""Ingestion: validated native events into the event table, deduplicated, in bulk.

The one path every ingestion route takes (native and vendor adapters): items → validation →
dedup within the batch → bulk insert that skips keys already stored → per-item results. The
caller's transaction commits before the answer leaves (the session dependency), so an
accepted event is never lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.events import EventRecord, EventRejected, validate_event
from service.tables import Event

Status = Literal["accepted", "duplicate", "rejected"]
# Rows per INSERT statement: big enough to amortise the round trip, small enough to stay
# under SQLite's 32,766 bound parameters (16 columns a row).
INSERT_CHUNK = 1_000


@dataclass(slots=True)
class ItemResult:
    index: int
    status: Status
    field: str | None = None
    reason: str | None = None
    message_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.status == "rejected":
            out["field"] = self.field
            out["reason"] = self.reason
        else:
            out["message_id"] = self.message_id
        return out


@dataclass(slots=True)
class IngestResult:
    results: list[ItemResult] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for result in self.results if result.status == status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.count("accepted"),
            "duplicate": self.count("duplicate"),
            "rejected": self.count("rejected"),
            "results": [result.as_dict() for result in self.results],
        }


def ingest(
    session: Session,
    *,
    project_id: int,
    items: Sequence[Any],
    now: datetime,
    future_tolerance_s: float,
    source: str = "native",
) -> IngestResult:
    """Validate `items` (native event objects) and store the good ones once each."""
    results: list[ItemResult] = []
    fresh: dict[str, EventRecord] = {}
    for index, item in enumerate(items):
        try:
            record = validate_event(item, now=now, future_tolerance_s=future_tolerance_s)
        except EventRejected as exc:
            rejection = exc.rejection
            results.append(ItemResult(index, "rejected", rejection.field, rejection.reason))
            continue
        if record.message_id in fresh:
            results.append(ItemResult(index, "duplicate", message_id=record.message_id))
            continue
        fresh[record.message_id] = record
        results.append(ItemResult(index, "accepted", message_id=record.message_id))
    stored = store_events(
        session, project_id=project_id, records=list(fresh.values()), source=source, now=now
    )
    for result in results:
        if result.status == "accepted" and result.message_id not in stored:
            result.status = "duplicate"
    return IngestResult(results)


def store_events(
    session: Session,
    *,
    project_id: int,
    records: Sequence[EventRecord],
    source: str,
    now: datetime,
) -> set[str]:
    """Insert `records` (unique message ids), skipping ids the project already has.

    Returns the message ids actually inserted. One multi-row INSERT … ON CONFLICT DO NOTHING
    … RETURNING per chunk, never one ORM object per event.
    """
    inserted: set[str] = set()
    if not records:
        return inserted
    statement = _insert_ignoring_duplicates(session).returning(Event.message_id)
    for start in range(0, len(records), INSERT_CHUNK):
        rows = [
            {
                "project_id": project_id,
                "message_id": r.message_id,
                "user_id": r.user_id,
                "mechanic": r.mechanic,
                "kind": r.kind,
                "ts": r.ts,
                "value": r.value,
                "cost": r.cost,
                "option": r.option,
                "session_id": r.session_id,
                "utc_offset_s": r.utc_offset_s,
                "delay_s": r.delay_s,
                "properties": r.properties,
                "source": source,
                "received_at": now,
            }
            for r in records[start : start + INSERT_CHUNK]
        ]
        inserted.update(session.execute(statement, rows).scalars())
    return inserted


def _insert_ignoring_duplicates(session: Session) -> Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(Event).on_conflict_do_nothing(
            index_elements=["project_id", "message_id"]
        )
    if dialect == "sqlite":
        return sqlite.insert(Event).on_conflict_do_nothing(
            index_elements=["project_id", "message_id"]
        )
    raise RuntimeError(f"unsupported database {dialect!r}")
