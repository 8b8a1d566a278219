"""Stored events into arrays: one project's native events (optionally a window and a subset of
mechanics) read in bulk as `models.columns.EventColumns`, with a digest of what was read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Connection, Engine, Select, String, func, select, type_coerce

from models.canonical import MICROSECONDS, InputSummary, canonical_events, columns_from_fields
from models.columns import ARRAY_FIELDS, EventColumns
from service.ingestion.events import EventRecord
from service.storage.event_window import Comparison, EventWindow
from service.storage.postgres_reading import estimate_postgres, read_postgres
from service.storage.tables import Event

FETCH_ROWS = 100_000

_TABLE = Event.__table__
_TIME = next(i for i, field in enumerate(ARRAY_FIELDS) if field.time)
# Timestamps as SQLite stores them ("YYYY-MM-DD HH:MM:SS.ffffff", UTC): numpy parses the text
# of a million rows faster than Python builds a million datetimes.
_COLUMNS = tuple(
    type_coerce(_TABLE.c[f.name], String) if f.time else _TABLE.c[f.name] for f in ARRAY_FIELDS
)
_CONDITIONS: dict[Comparison, Any] = {
    ">=": lambda column, bound: column >= bound,
    "<": lambda column, bound: column < bound,
    "in": lambda column, bound: column.in_(bound),
}
# A record's values of the fields the models read, in `ARRAY_FIELDS`' order.
_ARRAY_VALUES = attrgetter(*(f.name for f in ARRAY_FIELDS))


def _query(project_id: int, window: EventWindow) -> Select[*tuple[Any, ...]]:
    where: list[ColumnElement[bool]] = [_TABLE.c.project_id == project_id]
    for field, comparison, bound in window.conditions():
        where.append(_CONDITIONS[comparison](_TABLE.c[field], bound))
    return select(*_COLUMNS).where(*where)


def read_events(
    engine: Engine, project_id: int, window: EventWindow, *, streams: int = 2
) -> tuple[EventColumns, InputSummary]:
    """All the project's events in `window` as arrays in their canonical order
    (`models.canonical.canonical_events`), read in one consistent snapshot.

    PostgreSQL: see `service.storage.postgres_reading` (no Python object per event, several
    streams). SQLite: rows are streamed in chunks.
    """
    if engine.dialect.name == "postgresql":
        columns, micros = read_postgres(engine, project_id, window, streams=streams)
        return canonical_events(columns, micros)
    with engine.connect() as connection:
        return _read_rows(connection, project_id, window)


def estimated_events(engine: Engine, project_id: int, window: EventWindow) -> int:
    """About how many events `read_events` would read, cheaply: the planner's estimate on
    PostgreSQL, a count through the index on SQLite."""
    if engine.dialect.name == "postgresql":
        return estimate_postgres(engine, project_id, window)
    counted = _query(project_id, window).with_only_columns(func.count())
    with engine.connect() as connection:
        return int(connection.execute(counted).scalar_one())


def _read_rows(
    connection: Connection, project_id: int, window: EventWindow
) -> tuple[EventColumns, InputSummary]:
    result = connection.execution_options(stream_results=True, yield_per=FETCH_ROWS).execute(
        _query(project_id, window)
    )
    chunks: list[list[Any]] = []
    for rows in result.partitions():
        chunks.append(list(zip(*rows, strict=True)))
    fields = _concatenate(chunks)
    fields[_TIME] = np.array(fields[_TIME], dtype="datetime64[us]").astype(np.int64)
    return columns_from_fields(fields)


def _concatenate(chunks: list[list[Any]]) -> list[Any]:
    if not chunks:
        return [[] for _ in _COLUMNS]
    return [[value for chunk in chunks for value in chunk[i]] for i in range(len(_COLUMNS))]


def records_to_fields(records: Iterable[EventRecord]) -> list[list[Any]]:
    """Validated records (the offline CLI's input) as the same field lists the reader yields."""
    fields: list[list[Any]] = [[] for _ in _COLUMNS]
    for r in records:
        for column, value in zip(fields, _ARRAY_VALUES(r), strict=True):
            column.append(value)
    fields[_TIME] = [_micros(ts) for ts in fields[_TIME]]
    return fields


def _micros(ts: datetime) -> int:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    delta = ts - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * MICROSECONDS + delta.microseconds
