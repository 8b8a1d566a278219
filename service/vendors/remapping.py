"""Re-mapping: native events from vendors are always what the current mapping rules make of the
stored raw events. Replacing the mapping re-maps every stored raw event, adding, changing or
removing the native events derived from them (native events posted to `/v1/events` are never
touched).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from models.columns import EVENT_FIELDS, MAX_ABS_VALUE, MAX_COST
from service.ingestion.events import EventRecord, EventRejected, validate_event
from service.ingestion.store import store_events
from service.projects.counts import recount
from service.storage.tables import Event, RawEvent
from service.vendors import adapters
from service.vendors.adapters.common import VendorEvent
from service.vendors.mapping_rules import MappingRule, Outcome, map_event

REMAP_CHUNK = 1_000


@dataclass(frozen=True, slots=True)
class Remapped:
    """What replacing a mapping did to the native events derived from raw vendor events."""

    added: int = 0
    changed: int = 0
    removed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "changed": self.changed, "removed": self.removed}


def remap(
    session: Session,
    *,
    project_id: int,
    mapping_rules: Sequence[MappingRule],
    now: datetime,
    future_tolerance_s: float,
    max_abs_value: float = MAX_ABS_VALUE,
    max_cost: float = MAX_COST,
) -> Remapped:
    """Bring the native events derived from the project's raw events in line with
    `mapping_rules`.

    Works through the raw events in chunks (keyset by id), and writes only what differs.
    """
    added = changed = removed = 0
    for chunk in _raw_chunks(session, project_id):
        ids = [row.message_id for row in chunk]
        existing = {
            row.message_id: row
            for row in session.execute(
                select(Event).where(
                    Event.project_id == project_id,
                    Event.message_id.in_(ids),
                    Event.source != "native",
                )
            ).scalars()
        }
        to_delete: list[str] = []
        to_insert: dict[str, list[EventRecord]] = {}
        raw_updates: list[dict[str, Any]] = []
        for raw in chunk:
            event = stored_vendor_event(raw)
            outcome = map_event(mapping_rules, event)
            record = _record(
                outcome,
                now=now,
                future_tolerance_s=future_tolerance_s,
                max_abs_value=max_abs_value,
                max_cost=max_cost,
            )
            current = existing.get(raw.message_id)
            if current is not None and (record is None or not _same_event(current, record)):
                to_delete.append(raw.message_id)
                if record is None:
                    removed += 1
                else:
                    changed += 1
            if record is not None and (current is None or not _same_event(current, record)):
                to_insert.setdefault(raw.source, []).append(record)
                if current is None:
                    added += 1
            mapped = record is not None
            if raw.mapped != mapped or raw.rule_position != outcome.position:
                raw_updates.append(
                    {"id": raw.id, "mapped": mapped, "rule_position": outcome.position}
                )
        if to_delete:
            session.execute(
                delete(Event).where(
                    Event.project_id == project_id,
                    Event.message_id.in_(to_delete),
                    Event.source != "native",
                )
            )
        for source, records in to_insert.items():
            store_events(session, project_id=project_id, records=records, source=source, now=now)
        if raw_updates:
            session.execute(update(RawEvent), raw_updates)
    if added or changed or removed:
        recount(session, project_id)  # the stored batches counted changed events as new ones
    return Remapped(added=added, changed=changed, removed=removed)


def _raw_chunks(session: Session, project_id: int) -> Iterator[list[RawEvent]]:
    last = 0
    while True:
        chunk = list(
            session.scalars(
                select(RawEvent)
                .where(RawEvent.project_id == project_id, RawEvent.id > last)
                .order_by(RawEvent.id)
                .limit(REMAP_CHUNK)
            )
        )
        if not chunk:
            return
        yield chunk
        last = chunk[-1].id
        session.expunge_all()


def _record(
    outcome: Outcome,
    *,
    now: datetime,
    future_tolerance_s: float,
    max_abs_value: float,
    max_cost: float,
) -> EventRecord | None:
    if outcome.native is None:
        return None
    try:
        return validate_event(
            outcome.native,
            now=now,
            future_tolerance_s=future_tolerance_s,
            max_abs_value=max_abs_value,
            max_cost=max_cost,
        )
    except EventRejected:
        return None


_MAPPED_FIELDS = attrgetter(*(f.name for f in EVENT_FIELDS if f.name != "message_id"))


def _same_event(row: Event, record: EventRecord) -> bool:
    return bool(_MAPPED_FIELDS(row) == _MAPPED_FIELDS(record))


def stored_vendor_event(raw: RawEvent) -> VendorEvent:
    """The vendor event a stored raw row was made from, read again by its adapter."""
    properties, timezone = adapters.reading(raw.source, raw.payload)
    return VendorEvent(
        source=raw.source,
        message_id=raw.message_id,
        event_name=raw.event_name,
        user_id=raw.user_id,
        ts=raw.ts,
        properties=properties,
        payload=raw.payload,
        timezone=timezone,
    )
