"""Stored events into arrays: one project's native events (optionally a window and a subset of
mechanics) read in bulk as `models.columns.EventColumns`, with a digest of what was read."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Engine, Select, String, func, select, type_coerce

from models.columns import OFFSET_UNKNOWN, EventColumns
from models.ordering import fingerprint_rows, group_rows, key_order
from service.events import EventRecord
from service.postgres_events import estimate_postgres, read_postgres
from service.tables import Event

FETCH_ROWS = 100_000
MICROSECONDS = 1_000_000


@dataclass(frozen=True, slots=True)
class EventWindow:
    """Which events an audit reads: [start, end) and the mechanics (all when empty)."""

    start: datetime | None = None
    end: datetime | None = None
    mechanics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InputSummary:
    """The report's `input`: what the audit read, and a digest that identifies it."""

    events: int
    users: int
    start: str | None
    end: str | None
    digest: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "users": self.users,
            "from": self.start,
            "to": self.end,
            "digest": self.digest,
        }


_COLUMNS = (
    Event.user_id,
    Event.mechanic,
    Event.kind,
    Event.ts,
    Event.value,
    Event.cost,
    Event.option,
    Event.session_id,
    Event.utc_offset_s,
    Event.delay_s,
)


def _query(project_id: int, window: EventWindow) -> Select[*tuple[Any, ...]]:
    # Timestamps as SQLite stores them ("YYYY-MM-DD HH:MM:SS.ffffff", UTC): numpy parses the
    # text of a million rows faster than Python builds a million datetimes.
    stored = [type_coerce(c, String) if c is Event.ts else c for c in _COLUMNS]
    query = select(*stored).where(Event.project_id == project_id)
    if window.start is not None:
        query = query.where(Event.ts >= window.start)
    if window.end is not None:
        query = query.where(Event.ts < window.end)
    if window.mechanics:
        query = query.where(Event.mechanic.in_(window.mechanics))
    return query


def read_events(
    engine: Engine, project_id: int, window: EventWindow, *, streams: int = 2
) -> tuple[EventColumns, InputSummary]:
    """All the project's events in `window` as arrays in their canonical order
    (`canonical_events`), read in one consistent snapshot.

    PostgreSQL: see `service.postgres_events` (no Python object per event, several streams).
    SQLite: rows are streamed in chunks.
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
    fields[3] = np.array(fields[3], dtype="datetime64[us]").astype(np.int64)
    return columns_from_fields(fields)


def _concatenate(chunks: list[list[Any]]) -> list[Any]:
    if not chunks:
        return [[] for _ in _COLUMNS]
    return [[value for chunk in chunks for value in chunk[i]] for i in range(len(_COLUMNS))]


def records_to_fields(records: Iterable[EventRecord]) -> list[list[Any]]:
    """Validated records (the offline CLI's input) as the same field lists the reader yields."""
    fields: list[list[Any]] = [[] for _ in _COLUMNS]
    for r in records:
        for column, value in zip(
            fields,
            (
                r.user_id,
                r.mechanic,
                r.kind,
                _micros(r.ts),
                r.value,
                r.cost,
                r.option,
                r.session_id,
                r.utc_offset_s,
                r.delay_s,
            ),
            strict=True,
        ):
            column.append(value)
    return fields


def columns_from_fields(fields: Sequence[Sequence[Any]]) -> tuple[EventColumns, InputSummary]:
    """Arrays and input summary from field lists (user, mechanic, kind, time in microseconds
    since the epoch, value, cost, option, session, utc offset, delay) — the one conversion
    both the SQLite reader and the offline CLI use, so the same events give the same arrays
    bit for bit (in their canonical order, `canonical_events`)."""
    user, mechanic, kind, ts, value, cost, option, session, offset, delay = fields
    micros = np.asarray(ts, dtype=np.int64)
    columns = EventColumns.from_arrays(
        user_id=np.array(user, dtype=object),
        mechanic=np.array(mechanic, dtype=object),
        kind=np.array(kind, dtype=np.int8),
        t=micros / MICROSECONDS,
        value=np.array(value, dtype=np.float64),
        cost=np.array(cost, dtype=np.float64),
        option=np.array(option, dtype=object),
        session_id=np.array(session, dtype=object),
        utc_offset_s=np.array([OFFSET_UNKNOWN if o is None else o for o in offset], dtype=np.int32),
        delay_s=np.array([np.nan if d is None else d for d in delay], dtype=np.float64),
    )
    return canonical_events(columns, micros)


def _micros(ts: datetime) -> int:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    delta = ts - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * MICROSECONDS + delta.microseconds


def canonical_events(
    columns: EventColumns, micros: NDArray[np.int64]
) -> tuple[EventColumns, InputSummary]:
    """The events in an order fixed by their content alone, with counts, time span and a
    digest of their content in that order.

    The order is by user (codes rank the sorted names), then by a 64-bit fingerprint of all
    of an event's fields (`fingerprint_rows`), so it is the same whatever order rows came back
    in; events that tie are identical (unless two distinct events of one input share a
    fingerprint: odds about n²/2⁶⁵, and then only their order is moot). The digest (SHA-256)
    covers the name tables and every field the models read, in that order. Grouped by user,
    the arrays split into partitions of users by slicing (`models.analysis`), with no gather.
    """
    n = len(columns)
    fields = _digest_fields(columns, micros)
    order = group_rows(
        columns.user, key_order(fingerprint_rows(fields)), max(len(columns.user_ids), 1)
    )
    digest = hashlib.sha256()
    for name_table in (columns.user_ids, columns.mechanics, columns.options):
        digest.update(b"\x1e".join(name.encode() for name in name_table) + b"\x1d")
    # Gathering a column in that order reads it at random (most of this function's time): two
    # columns are gathered at once on other threads (numpy's take and SHA-256 both release
    # the GIL) while this one hashes the column before, in order.
    # A column holding one value throughout (a product that logs no option, session, zone or
    # delay) is its own reordering: it is hashed as it is.
    ordered: list[NDArray[Any]] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        gathered: deque[Future[NDArray[Any]]] = deque()
        for array in fields:
            gathered.append(pool.submit(_reordered, array, order))
            if len(gathered) > 2:
                ordered.append(gathered.popleft().result())
                digest.update(ordered[-1].data)
        while gathered:
            ordered.append(gathered.popleft().result())
            digest.update(ordered[-1].data)
    del order, fields
    user, mechanic, kind, micros, value, cost, option, session, utc_offset_s, delay_s = ordered
    canonical = EventColumns(
        user=user,
        mechanic=mechanic,
        kind=kind,
        t=micros / MICROSECONDS,
        value=value,
        cost=cost,
        option=option,
        session=session,
        utc_offset_s=utc_offset_s,
        delay_s=delay_s,
        user_ids=columns.user_ids,
        mechanics=columns.mechanics,
        options=columns.options,
    )
    summary = InputSummary(
        events=n,
        users=len(columns.user_ids),
        start=_iso(int(micros.min())) if n else None,
        end=_iso(int(micros.max())) if n else None,
        digest="sha256:" + digest.hexdigest(),
    )
    return canonical, summary


def _reordered(array: NDArray[Any], order: NDArray[np.int64]) -> NDArray[Any]:
    """`array[order]`, or `array` itself when every element has the same bits (NaNs too)."""
    if array.shape[0]:
        bits = array.view(f"u{array.dtype.itemsize}")
        if not (bits == bits[0]).all():
            return np.take(array, order)
    return array


def _digest_fields(columns: EventColumns, micros: NDArray[np.int64]) -> list[NDArray[Any]]:
    return [
        columns.user,
        columns.mechanic,
        columns.kind,
        micros,
        columns.value,
        columns.cost,
        columns.option,
        columns.session,
        columns.utc_offset_s,
        columns.delay_s,
    ]


def _iso(micros: int) -> str:
    stamp = datetime.fromtimestamp(micros / MICROSECONDS, tz=UTC)
    return stamp.isoformat().replace("+00:00", "Z")
