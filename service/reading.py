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
from sqlalchemy import Connection, Engine, Select, String, select, type_coerce

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
    fields = _concatenate(chunks)
    fields[3] = np.array(fields[3], dtype="datetime64[us]").astype(np.int64)
    return columns_from_fields(fields)


# Fixed-width binary COPY records: a field count, then (length, value) per field, big-endian.
_COPY_RECORD = np.dtype(
    [
        ("fields", ">i2"),
        *(
            item
            for name, kind in (
                ("user", ">i8"),
                ("mechanic", ">i8"),
                ("kind", ">i2"),
                ("micros", ">i8"),
                ("value", ">f8"),
                ("cost", ">f8"),
                ("option", ">i8"),
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


# Name columns travel as 64-bit hashes (computed by PostgreSQL, no join needed) and become
# codes here; `_ABSENT` stands for a missing option or session. Should two names of a column
# share a hash (odds about n²/2⁶⁵), the names are coded by joins in SQL instead.
_HASH = "hashtextextended({}, 0)"
_ABSENT = -(2**63)
_NAME_COLUMNS = ("user_id", "mechanic", "option", "session_id")
_NAME_KEYS = ("user", "mechanic", "option", "session")
# Binary timestamptz is microseconds since 2000-01-01 UTC.
_POSTGRES_EPOCH_MICROS = 946_684_800 * MICROSECONDS


def _read_postgres(
    connection: Connection, project_id: int, window: EventWindow
) -> tuple[EventColumns, InputSummary]:
    where, params = _postgres_filter(project_id, window)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    # Compiling these scans to machine code costs more than it saves.
    cursor.execute("SET LOCAL jit = off")
    records = _copy_records(cursor, _hashed_query(where), params)
    names = {
        **_user_and_mechanic_names(cursor, where, params),
        # Most products log no option or session: skip their scans when no event has one.
        **{
            column: _names(
                cursor, column, where, params, present=bool((records[key] != _ABSENT).any())
            )
            for column, key in (("option", "option"), ("session_id", "session"))
        },
    }
    if all(_distinct_hashes(hashes) for _, hashes in names.values()):
        codes = {
            key: _codes(records[key], names[column][1])
            for column, key in zip(_NAME_COLUMNS, _NAME_KEYS, strict=True)
        }
    else:  # two names share a hash: code them by joins in SQL instead
        records = _copy_records(cursor, _joined_query(where), params * 5)
        codes = {key: records[key] for key in _NAME_KEYS}
    cursor.close()
    micros = records["micros"] + _POSTGRES_EPOCH_MICROS
    columns = EventColumns(
        user=codes["user"].astype(np.int64),
        mechanic=codes["mechanic"].astype(np.int32),
        kind=records["kind"],
        t=micros / MICROSECONDS,
        value=records["value"],
        cost=records["cost"],
        option=codes["option"].astype(np.int32),
        session=codes["session"].astype(np.int64),
        utc_offset_s=records["utc_offset_s"],
        delay_s=records["delay_s"],
        user_ids=names["user_id"][0],
        mechanics=names["mechanic"][0],
        options=names["option"][0],
    )
    return columns, summarise(columns, micros)


def _copy_records(cursor: Any, query: str, params: list[Any]) -> dict[str, NDArray[Any]]:
    fields = _RecordChunks()
    # PostgreSQL sends a message a row: append each to a buffer (a reference to it would pin
    # psycopg's result) and decode whole chunks.
    pending = bytearray()
    with cursor.copy(query, params) as copy:
        for block in copy:
            pending += block
            if len(pending) >= _CHUNK_BYTES:
                fields.feed(pending)
                pending = bytearray()
    fields.feed(pending)
    return fields.finish()


Names = tuple[tuple[str, ...], NDArray[np.int64]]


def _sorted_names(pairs: Iterable[tuple[str, int]]) -> Names:
    """Names in byte order (as numpy sorts them; Python's str order is code-point order, which
    UTF-8 preserves), with their hashes."""
    ordered = sorted(set(pairs))
    return tuple(name for name, _ in ordered), np.array([h for _, h in ordered], dtype=np.int64)


def _user_and_mechanic_names(cursor: Any, where: str, params: list[Any]) -> dict[str, Names]:
    # One pass over the audit index (project, mechanic, user, ts) gives both name sets.
    cursor.execute(
        f"SELECT mechanic, user_id, {_HASH.format('mechanic')}, {_HASH.format('user_id')}"
        f" FROM (SELECT DISTINCT mechanic, user_id FROM event WHERE {where}) AS d",
        params,
    )
    rows = cursor.fetchall()
    return {
        "mechanic": _sorted_names((m, hm) for m, _, hm, _ in rows),
        "user_id": _sorted_names((u, hu) for _, u, _, hu in rows),
    }


def _names(cursor: Any, column: str, where: str, params: list[Any], *, present: bool) -> Names:
    if not present:
        return (), np.zeros(0, dtype=np.int64)
    cursor.execute(
        f"SELECT name, {_HASH.format('name')} FROM (SELECT DISTINCT {column} AS name"
        f" FROM event WHERE {where} AND {column} IS NOT NULL) AS d",
        params,
    )
    return _sorted_names(cursor.fetchall())


def _distinct_hashes(hashes: NDArray[np.int64]) -> bool:
    return bool(np.unique(hashes).shape[0] == hashes.shape[0] and not np.any(hashes == _ABSENT))


def _codes(event_hashes: NDArray[np.int64], name_hashes: NDArray[np.int64]) -> NDArray[np.int64]:
    """Each event's code (index into the sorted names) from its name's hash; -1 if absent."""
    if len(name_hashes) == 0:
        if not (event_hashes == _ABSENT).all():
            raise RuntimeError("events name values that the snapshot does not hold")
        return np.full(event_hashes.shape[0], -1, dtype=np.int64)
    order = np.argsort(name_hashes)
    ordered = name_hashes[order]
    position = np.searchsorted(ordered, event_hashes)
    np.minimum(position, len(ordered) - 1, out=position)
    found = ordered[position] == event_hashes
    codes = order[position]
    if not found.all():
        missing = ~found
        if not (event_hashes[missing] == _ABSENT).all():
            raise RuntimeError("events name values that the snapshot does not hold")
        codes[missing] = -1
    return codes.astype(np.int64, copy=False)


def _hashed_query(where: str) -> str:
    user, mechanic, option, session = (_HASH.format(c) for c in _NAME_COLUMNS)
    return (
        f"COPY (SELECT {user}, {mechanic}, kind::int2, ts, value, cost,"
        f" coalesce({option}, {_ABSENT}), coalesce({session}, {_ABSENT}),"
        " coalesce(utc_offset_s, 0)::int4, coalesce(delay_s, 'NaN')::float8"
        f" FROM event WHERE {where}) TO STDOUT (FORMAT binary)"
    )


def _joined_query(where: str) -> str:
    # Codes are ranks in byte order (COLLATE "C"), the order numpy sorts the same names in.
    def coded(column: str) -> str:
        return (
            f'(SELECT {column} AS name, (row_number() OVER (ORDER BY {column} COLLATE "C") - 1)'
            f" AS code FROM (SELECT DISTINCT {column} FROM event WHERE {where}"
            f" AND {column} IS NOT NULL) d)"
        )

    return (
        "COPY (SELECT u.code::int8, m.code::int8, e.kind::int2, e.ts, e.value, e.cost,"
        " coalesce(o.code, -1)::int8, coalesce(s.code, -1)::int8,"
        " coalesce(e.utc_offset_s, 0)::int4, coalesce(e.delay_s, 'NaN')::float8"
        f" FROM event e JOIN {coded('user_id')} u ON u.name = e.user_id"
        f" JOIN {coded('mechanic')} m ON m.name = e.mechanic"
        f" LEFT JOIN {coded('option')} o ON o.name = e.option"
        f" LEFT JOIN {coded('session_id')} s ON s.name = e.session_id"
        f" WHERE {where}"
        ") TO STDOUT (FORMAT binary)"
    )


_NATIVE = {
    "user": np.int64,
    "mechanic": np.int64,
    "kind": np.int8,
    "micros": np.int64,
    "value": np.float64,
    "cost": np.float64,
    "option": np.int64,
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

    def feed(self, block: bytes | bytearray) -> None:
        self._pending += block
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
    bit for bit."""
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

    The digest (SHA-256) covers the name tables and every field the models read, with the
    events in an order fixed by their content alone — by a 64-bit fingerprint of all their
    fields — so it identifies the input whatever order rows came back in (unless two distinct
    events of one input share a fingerprint: odds about n²/2⁶⁵).
    """
    n = len(columns)
    fields = _digest_fields(columns, micros)
    # Events that tie are identical (or collide, at the odds above): their order is moot.
    order = np.argsort(_fingerprints(fields))
    digest = hashlib.sha256()
    for name_table in (columns.user_ids, columns.mechanics, columns.options):
        digest.update(b"\x1e".join(name.encode() for name in name_table) + b"\x1d")
    for array in fields:
        digest.update(array[order].data)
    return InputSummary(
        events=n,
        users=len(columns.user_ids),
        start=_iso(int(micros.min())) if n else None,
        end=_iso(int(micros.max())) if n else None,
        digest="sha256:" + digest.hexdigest(),
    )


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


def _fingerprints(fields: list[NDArray[Any]]) -> NDArray[np.uint64]:
    """A 64-bit fingerprint of each event's fields (splitmix64 finaliser, Steele et al. 2014),
    vectorised; it only orders events, the digest itself covers the full content."""
    h = np.zeros(fields[0].shape[0], dtype=np.uint64)
    for field in fields:
        bits = field.view(np.uint64) if field.dtype.itemsize == 8 else field.astype(np.uint64)
        h ^= bits
        h *= np.uint64(0x9E3779B97F4A7C15)  # odd: a bijection, so no field is lost
        h ^= h >> np.uint64(29)
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


def _iso(micros: int) -> str:
    stamp = datetime.fromtimestamp(micros / MICROSECONDS, tz=UTC)
    return stamp.isoformat().replace("+00:00", "Z")
