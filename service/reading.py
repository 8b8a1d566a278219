"""Stored events into arrays: one project's native events (optionally a window and a subset of
mechanics) read in bulk as `models.columns.EventColumns`, with a digest of what was read."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Engine, Select, select

from models.columns import EventColumns
from service.events import EventRecord
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
    query = select(*_COLUMNS).where(Event.project_id == project_id)
    if window.start is not None:
        query = query.where(Event.ts >= window.start)
    if window.end is not None:
        query = query.where(Event.ts < window.end)
    if window.mechanics:
        query = query.where(Event.mechanic.in_(window.mechanics))
    return query


def read_events(
    engine: Engine, project_id: int, window: EventWindow
) -> tuple[EventColumns, InputSummary]:
    """All the project's events in `window` as arrays, read in one consistent snapshot.

    PostgreSQL: names are coded in SQL and the rows arrive by binary COPY as fixed-width
    records that numpy reads in place (no Python object per event). Elsewhere: rows are
    streamed in chunks.
    """
    if engine.dialect.name == "postgresql":
        snapshot = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with snapshot as connection, connection.begin():
            return _read_postgres(connection, project_id, window)
    with engine.connect() as connection:
        return _read_rows(connection, project_id, window)


def _read_rows(
    connection: Connection, project_id: int, window: EventWindow
) -> tuple[EventColumns, InputSummary]:
    result = connection.execution_options(stream_results=True, yield_per=FETCH_ROWS).execute(
        _query(project_id, window)
    )
    chunks: list[list[Any]] = []
    for rows in result.partitions():
        chunks.append(list(zip(*rows, strict=True)))
    return columns_from_fields(_concatenate(chunks))


# Fixed-width binary COPY records: a field count, then (length, value) per field, big-endian.
_COPY_RECORD = np.dtype(
    [
        ("fields", ">i2"),
        *(
            item
            for name, kind in (
                ("user", ">i4"),
                ("mechanic", ">i4"),
                ("kind", ">i2"),
                ("micros", ">i8"),
                ("value", ">f8"),
                ("cost", ">f8"),
                ("option", ">i4"),
                ("session", ">i8"),
                ("utc_offset_s", ">i4"),
                ("delay_s", ">f8"),
            )
            for item in ((f"{name}_length", ">i4"), (name, kind))
        ),
    ]
)
_COPY_HEADER = 19  # signature (11) + flags (4) + header extension length (4)
_COPY_TRAILER = 2


def _read_postgres(
    connection: Connection, project_id: int, window: EventWindow
) -> tuple[EventColumns, InputSummary]:
    where, params = _postgres_filter(project_id, window)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]

    def names(column: str) -> tuple[str, ...]:
        cursor.execute(
            f'SELECT DISTINCT {column} COLLATE "C" AS name FROM event WHERE {where} '
            f"AND {column} IS NOT NULL ORDER BY name",
            params,
        )
        return tuple(row[0] for row in cursor.fetchall())

    # Codes are ranks in byte order (COLLATE "C"), the order numpy sorts the same names in.
    def coded(column: str) -> str:
        return (
            f'(SELECT {column} AS name, (row_number() OVER (ORDER BY {column} COLLATE "C") - 1)'
            f" AS code FROM (SELECT DISTINCT {column} FROM event WHERE {where}"
            f" AND {column} IS NOT NULL) d)"
        )

    query = (
        "COPY (SELECT u.code::int4, m.code::int4, e.kind::int2,"
        " (extract(epoch FROM e.ts) * 1000000)::int8, e.value, e.cost,"
        " coalesce(o.code, -1)::int4, coalesce(s.code, -1)::int8,"
        " coalesce(e.utc_offset_s, 0)::int4, coalesce(e.delay_s, 'NaN')::float8"
        f" FROM event e JOIN {coded('user_id')} u ON u.name = e.user_id"
        f" JOIN {coded('mechanic')} m ON m.name = e.mechanic"
        f" LEFT JOIN {coded('option')} o ON o.name = e.option"
        f" LEFT JOIN {coded('session_id')} s ON s.name = e.session_id"
        f" WHERE {where}"
        ") TO STDOUT (FORMAT binary)"
    )
    fields = _RecordChunks()
    with cursor.copy(query, params * 5) as copy:
        for block in copy:
            fields.feed(block)
    records = fields.finish()
    user_ids, mechanics, options = names("user_id"), names("mechanic"), names("option")
    cursor.close()
    micros = records["micros"]
    columns = EventColumns(
        user=records["user"],
        mechanic=records["mechanic"],
        kind=records["kind"],
        t=micros / MICROSECONDS,
        value=records["value"],
        cost=records["cost"],
        option=records["option"],
        session=records["session"],
        utc_offset_s=records["utc_offset_s"],
        delay_s=records["delay_s"],
        user_ids=user_ids,
        mechanics=mechanics,
        options=options,
    )
    return columns, summarise(columns, micros)


_NATIVE = {
    "user": np.int64,
    "mechanic": np.int32,
    "kind": np.int8,
    "micros": np.int64,
    "value": np.float64,
    "cost": np.float64,
    "option": np.int32,
    "session": np.int64,
    "utc_offset_s": np.int32,
    "delay_s": np.float64,
}
_CHUNK_BYTES = 32 * 1024 * 1024


class _RecordChunks:
    """Binary COPY records decoded chunk by chunk into native-endian field arrays, so the
    wire bytes are never held whole (they are 1.6x the size of the arrays)."""

    def __init__(self) -> None:
        self._pending = bytearray()
        self._header_seen = False
        self._chunks: dict[str, list[NDArray[Any]]] = {name: [] for name in _NATIVE}

    def feed(self, block: bytes | bytearray | memoryview) -> None:
        self._pending += block
        if len(self._pending) >= _CHUNK_BYTES:
            self._decode(final=False)

    def finish(self) -> dict[str, NDArray[Any]]:
        self._decode(final=True)
        return {
            name: np.concatenate(parts) if parts else np.zeros(0, dtype=_NATIVE[name])
            for name, parts in self._chunks.items()
        }

    def _decode(self, *, final: bool) -> None:
        start = 0
        if not self._header_seen and len(self._pending) >= _COPY_HEADER:
            start, self._header_seen = _COPY_HEADER, True
        usable = len(self._pending) - start - (_COPY_TRAILER if final else 0)
        count = max(usable, 0) // _COPY_RECORD.itemsize
        if count:
            records = np.frombuffer(self._pending, dtype=_COPY_RECORD, count=count, offset=start)
            for name, dtype in _NATIVE.items():
                self._chunks[name].append(records[name].astype(dtype))
            del records
        del self._pending[: start + count * _COPY_RECORD.itemsize]


def _postgres_filter(project_id: int, window: EventWindow) -> tuple[str, list[Any]]:
    clauses: list[str] = ["project_id = %s"]
    params: list[Any] = [project_id]
    if window.start is not None:
        clauses.append("ts >= %s")
        params.append(window.start)
    if window.end is not None:
        clauses.append("ts < %s")
        params.append(window.end)
    if window.mechanics:
        clauses.append("mechanic = ANY(%s)")
        params.append(list(window.mechanics))
    return " AND ".join(clauses), params


def _concatenate(chunks: list[list[Any]]) -> list[list[Any]]:
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
                r.ts,
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
    """Arrays and input summary from field lists (user, mechanic, kind, ts, value, cost,
    option, session, utc offset, delay) — the one conversion both the database reader and the
    offline CLI use, so the same events give the same arrays bit for bit."""
    user, mechanic, kind, ts, value, cost, option, session, offset, delay = fields
    micros = np.array([_micros(t) for t in ts], dtype=np.int64)
    columns = EventColumns.from_arrays(
        user_id=np.array(user, dtype=object),
        mechanic=np.array(mechanic, dtype=object),
        kind=np.array(kind, dtype=np.int8),
        t=micros / MICROSECONDS,
        value=np.array(value, dtype=np.float64),
        cost=np.array(cost, dtype=np.float64),
        option=np.array(option, dtype=object),
        session_id=np.array(session, dtype=object),
        utc_offset_s=np.array([0 if o is None else o for o in offset], dtype=np.int32),
        delay_s=np.array([np.nan if d is None else d for d in delay], dtype=np.float64),
    )
    return columns, summarise(columns, micros)


def _micros(ts: datetime) -> int:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    delta = ts - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * MICROSECONDS + delta.microseconds


def summarise(columns: EventColumns, micros: NDArray[np.int64]) -> InputSummary:
    """Counts, time span and a digest of the events' content in a canonical order.

    The digest covers every field the models read, sorted by (mechanic, user, time, kind,
    value, cost), so it identifies the input whatever order rows came back in.
    """
    n = len(columns)
    order = np.lexsort(
        (columns.cost, columns.value, columns.kind, micros, columns.user, columns.mechanic)
    )
    digest = hashlib.sha256()
    for name_table in (columns.user_ids, columns.mechanics, columns.options):
        digest.update(b"\x1e".join(name.encode() for name in name_table) + b"\x1d")
    for array in (
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
    ):
        digest.update(np.ascontiguousarray(array[order]).tobytes())
    return InputSummary(
        events=n,
        users=len(columns.user_ids),
        start=_iso(int(micros.min())) if n else None,
        end=_iso(int(micros.max())) if n else None,
        digest="sha256:" + digest.hexdigest(),
    )


def _iso(micros: int) -> str:
    stamp = datetime.fromtimestamp(micros / MICROSECONDS, tz=UTC)
    return stamp.isoformat().replace("+00:00", "Z")
