"""Bulk storage of validated events, on each database's fast path.

PostgreSQL: a batch is streamed by binary COPY into the event table; when some of its events
are already stored, through a staging table and INSERT … SELECT … ON CONFLICT DO NOTHING
RETURNING.
SQLite: multi-row INSERT … ON CONFLICT DO NOTHING RETURNING in chunks. Never one ORM object
per event.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

from psycopg.errors import UniqueViolation
from psycopg.types.json import Jsonb
from sqlalchemy import Insert, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models.columns import EVENT_FIELDS
from service.errors import NotFound
from service.ingestion.events import EventRecord
from service.projects.counts import count_stored
from service.storage.tables import Event, Project, RawEvent

# Rows per INSERT statement on SQLite: under its 32,766 bound parameters (16 columns a row).
INSERT_CHUNK = 1_000

# A record's fields as stored, in `EVENT_FIELDS`' order (the properties last, as JSON).
_FIELD_NAMES = tuple(f.name for f in EVENT_FIELDS)
_STAGING_COLUMNS = ", ".join(f"{f.name} {f.sql}" for f in EVENT_FIELDS)
_STAGING_TYPES = [f.sql for f in EVENT_FIELDS]
_COLUMNS = ", ".join(_FIELD_NAMES)
_PROPERTIES = _FIELD_NAMES.index("properties")
_VALUES = attrgetter(*_FIELD_NAMES)


def store_events(
    session: Session,
    *,
    project_id: int,
    records: Sequence[EventRecord],
    source: str,
    now: datetime,
    staging: bool = False,
) -> set[str]:
    """Insert `records` (unique message ids), skipping ids the project already has.

    Returns the message ids actually inserted, which are added to the project's counts
    (`service.projects.counts`). Runs in the caller's transaction. `staging` sends a
    PostgreSQL batch through the staging table at once (bulk imports, where a batch already
    stored is an expected re-run, not a rare retry).
    """
    if not records:
        return set()
    lock_project(session, project_id)
    if session.get_bind().dialect.name == "postgresql":
        inserted = _store_postgres(session, project_id, records, source, now, staging)
    else:
        inserted = _store_rows(session, project_id, records, source, now)
    stored = (
        records
        if len(inserted) == len(records)
        else [r for r in records if r.message_id in inserted]
    )
    count_stored(session, project_id, stored)
    return inserted


def _store_postgres(
    session: Session,
    project_id: int,
    records: Sequence[EventRecord],
    source: str,
    now: datetime,
    staging: bool,
) -> set[str]:
    """COPY the batch straight into the event table, so the common case (new events) costs
    what a bulk load costs. If any of its ids is already stored (a client's retry, or a
    concurrent batch with the same ids), the COPY fails on the unique key, is rolled back to
    its savepoint, and the batch goes through the staging path, which skips conflicts.

    (Looking the ids up first costs more than it saves: `message_id = ANY(…)` is planned as a
    filter over the project's rows whenever statistics lag behind a growing project.)"""
    connection = session.connection()
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    if staging:
        inserted = _store_via_staging(connection, cursor, project_id, records, source, now)
        cursor.close()
        return inserted
    savepoint = connection.begin_nested()
    try:
        _copy(cursor, "event", records, extra=(project_id, source, now))
    except UniqueViolation:
        savepoint.rollback()
        inserted = _store_via_staging(connection, cursor, project_id, records, source, now)
    else:
        savepoint.commit()
        inserted = {r.message_id for r in records}
    cursor.close()
    return inserted


def _copy(
    cursor: Any, table: str, records: Sequence[EventRecord], *, extra: tuple[Any, ...] = ()
) -> None:
    columns = f"{_COLUMNS}, project_id, source, received_at" if extra else _COLUMNS
    types = [*_STAGING_TYPES, "int4", "text", "timestamptz"] if extra else _STAGING_TYPES
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for r in records:
            row = list(_VALUES(r))
            if r.properties is not None:
                row[_PROPERTIES] = Jsonb(r.properties)
            copy.write_row((*row, *extra))


def _store_via_staging(
    connection: Any,
    cursor: Any,
    project_id: int,
    records: Sequence[EventRecord],
    source: str,
    now: datetime,
) -> set[str]:
    connection.execute(
        text(
            f"CREATE TEMP TABLE IF NOT EXISTS event_staging ({_STAGING_COLUMNS})"
            " ON COMMIT DELETE ROWS"
        )
    )
    _copy(cursor, "event_staging", records)
    cursor.execute(
        f"INSERT INTO event (project_id, source, received_at, {_COLUMNS})"
        f" SELECT %s, %s, %s, {_COLUMNS} FROM event_staging"
        " ON CONFLICT (project_id, message_id) DO NOTHING RETURNING message_id",
        (project_id, source, now),
    )
    inserted = {row[0] for row in cursor.fetchall()}
    cursor.execute("DELETE FROM event_staging")
    return inserted


def _store_rows(
    session: Session,
    project_id: int,
    records: Sequence[EventRecord],
    source: str,
    now: datetime,
) -> set[str]:
    inserted: set[str] = set()
    statement = insert_ignoring_duplicates(session, Event).returning(Event.message_id)
    for start in range(0, len(records), INSERT_CHUNK):
        rows = [
            {
                "project_id": project_id,
                **dict(zip(_FIELD_NAMES, _VALUES(r), strict=True)),
                "source": source,
                "received_at": now,
            }
            for r in records[start : start + INSERT_CHUNK]
        ]
        inserted.update(session.execute(statement, rows).scalars())
    return inserted


_PROJECT = Project.__table__
_LOCK_PROJECT = (
    select(_PROJECT.c.id)
    .where(_PROJECT.c.id == bindparam("project_id"))
    .with_for_update(read=True, key_share=True)
)


def lock_project(session: Session, project_id: int) -> None:
    """Hold the project's row until the transaction ends (KEY SHARE: what a foreign key takes
    per row, taken once), so the events about to be stored cannot outlive a deletion of the
    project running at the same time; `NotFound` if it is gone. The event tables have no
    foreign key (migration 0006): this and the trigger on `project` keep them consistent."""
    found = session.connection().execute(_LOCK_PROJECT, {"project_id": project_id}).first()
    if found is None:
        raise NotFound(f"no project {project_id}")


def insert_ignoring_duplicates(session: Session, table: type[Event] | type[RawEvent]) -> Insert:
    """INSERT … ON CONFLICT (project_id, message_id) DO NOTHING, in the session's dialect."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(
            index_elements=["project_id", "message_id"]
        )
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(
            index_elements=["project_id", "message_id"]
        )
    raise RuntimeError(f"unsupported database {dialect!r}")
