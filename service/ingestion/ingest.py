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

from sqlalchemy.orm import Session

from models.columns import MAX_ABS_VALUE, MAX_COST
from service.ingestion.events import EventRecord, EventRejected, validate_event
from service.ingestion.store import store_events

Status = Literal["accepted", "duplicate", "rejected"]


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
    max_abs_value: float = MAX_ABS_VALUE,
    max_cost: float = MAX_COST,
    source: str = "native",
    staging: bool = False,
) -> IngestResult:
    """Validate `items` (native event objects) and store the good ones once each."""
    results: list[ItemResult] = []
    fresh: dict[str, EventRecord] = {}
    for index, item in enumerate(items):
        try:
            record = validate_event(
                item,
                now=now,
                future_tolerance_s=future_tolerance_s,
                max_abs_value=max_abs_value,
                max_cost=max_cost,
            )
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
        session,
        project_id=project_id,
        records=list(fresh.values()),
        source=source,
        now=now,
        staging=staging,
    )
    for result in results:
        if result.status == "accepted" and result.message_id not in stored:
            result.status = "duplicate"
    return IngestResult(results)
