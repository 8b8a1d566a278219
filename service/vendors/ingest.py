"""Vendor events into storage: raw as they arrived, and native wherever the mapping covers them.

The same path as `service.ingestion.ingest.ingest`: each mapped event is validated by the native
schema and stored by the same bulk insert; what is added here is the raw copy of every vendor
event and the mapping in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import text
from sqlalchemy.orm import Session

from models.columns import MAX_ABS_VALUE, MAX_COST
from service.ingestion.events import EventRecord, EventRejected, Rejection, validate_event
from service.ingestion.ingest import IngestResult, ItemResult
from service.ingestion.store import insert_ignoring_duplicates, lock_project, store_events
from service.storage.tables import RawEvent
from service.vendors.adapters.common import Translated, VendorEvent
from service.vendors.mapping_rules import map_event
from service.vendors.mapping_store import load_mapping_rules

# Rows per INSERT: under SQLite's 32,766 bound parameters (10 columns a row).
INSERT_CHUNK = 1_000


def ingest_vendor(
    session: Session,
    *,
    project_id: int,
    items: Sequence[Translated],
    now: datetime,
    future_tolerance_s: float,
    max_abs_value: float = MAX_ABS_VALUE,
    max_cost: float = MAX_COST,
    staging: bool = False,
) -> IngestResult:
    """Store vendor events raw, and as native events where the project's mapping covers them.

    Every well-formed vendor event is kept raw (so that a mapping added later can re-map it)
    and is `accepted` the first time and `duplicate` after, whether or not a mapping covers
    it; `rejected` means the vendor event itself is unusable (the adapter said why). An event
    that a mapping rule matches but cannot map (a cost that is not a number, say) is kept raw,
    unmapped, and counted as failed in the mapping's coverage (`GET …/mappings`).
    """
    mapping_rules = load_mapping_rules(session, project_id)
    results: list[ItemResult] = []
    raw_rows: dict[str, dict[str, Any]] = {}
    natives: dict[str, list[EventRecord]] = {}
    for index, item in enumerate(items):
        if isinstance(item, Rejection):
            results.append(ItemResult(index, "rejected", item.field, item.reason))
            continue
        if item.message_id in raw_rows:
            results.append(ItemResult(index, "duplicate", message_id=item.message_id))
            continue
        outcome = map_event(mapping_rules, item)
        record = None
        if outcome.native is not None:
            try:
                record = validate_event(
                    outcome.native,
                    now=now,
                    future_tolerance_s=future_tolerance_s,
                    max_abs_value=max_abs_value,
                    max_cost=max_cost,
                )
            except EventRejected:
                record = None
        raw_rows[item.message_id] = _raw_row(
            item,
            project_id=project_id,
            mapped=record is not None,
            position=outcome.position,
            now=now,
        )
        if record is not None:
            natives.setdefault(item.source, []).append(record)
        results.append(ItemResult(index, "accepted", message_id=item.message_id))
    fresh = store_raw_events(session, rows=list(raw_rows.values()), staging=staging)
    for source, records in natives.items():
        store_events(
            session,
            project_id=project_id,
            records=records,
            source=source,
            now=now,
            staging=staging,
        )
    for result in results:
        if result.status == "accepted" and result.message_id not in fresh:
            result.status = "duplicate"
    return IngestResult(results)


def _raw_row(
    event: VendorEvent, *, project_id: int, mapped: bool, position: int | None, now: datetime
) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "source": event.source,
        "message_id": event.message_id,
        "event_name": event.event_name,
        "user_id": event.user_id,
        "ts": event.ts,
        "payload": event.payload,
        "mapped": mapped,
        "rule_position": position,
        "received_at": now,
    }


def store_raw_events(
    session: Session, *, rows: Sequence[dict[str, Any]], staging: bool = False
) -> set[str]:
    """Insert raw vendor events (unique message ids), skipping ids the project already has;
    returns the message ids actually inserted. `staging`: on PostgreSQL, by COPY into a
    staging table and one INSERT … SELECT … ON CONFLICT DO NOTHING (bulk imports)."""
    inserted: set[str] = set()
    if not rows:
        return inserted
    lock_project(session, rows[0]["project_id"])
    if staging and session.get_bind().dialect.name == "postgresql":
        return _store_raw_via_staging(session, rows)
    statement = insert_ignoring_duplicates(session, RawEvent).returning(RawEvent.message_id)
    for start in range(0, len(rows), INSERT_CHUNK):
        inserted.update(session.execute(statement, rows[start : start + INSERT_CHUNK]).scalars())
    return inserted


_RAW_FIELDS = (
    ("project_id", "int4"),
    ("source", "text"),
    ("message_id", "text"),
    ("event_name", "text"),
    ("user_id", "text"),
    ("ts", "timestamptz"),
    ("payload", "jsonb"),
    ("mapped", "bool"),
    ("rule_position", "int4"),
    ("received_at", "timestamptz"),
)
_RAW_COLUMNS = ", ".join(name for name, _ in _RAW_FIELDS)


def _store_raw_via_staging(session: Session, rows: Sequence[dict[str, Any]]) -> set[str]:
    connection = session.connection()
    connection.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS raw_event_staging ("
            + ", ".join(f"{name} {sql}" for name, sql in _RAW_FIELDS)
            + ") ON COMMIT DELETE ROWS"
        )
    )
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        copying = f"COPY raw_event_staging ({_RAW_COLUMNS}) FROM STDIN (FORMAT BINARY)"
        with cursor.copy(copying) as copy:
            copy.set_types([sql for _, sql in _RAW_FIELDS])
            for row in rows:
                copy.write_row(
                    [Jsonb(row[n]) if n == "payload" else row[n] for n, _ in _RAW_FIELDS]
                )
        cursor.execute(
            f"INSERT INTO raw_event ({_RAW_COLUMNS}) SELECT {_RAW_COLUMNS} FROM raw_event_staging"
            " ON CONFLICT (project_id, message_id) DO NOTHING RETURNING message_id"
        )
        inserted = {row[0] for row in cursor.fetchall()}
        cursor.execute("DELETE FROM raw_event_staging")
    finally:
        cursor.close()
    return inserted
