"""Reading a project's events from PostgreSQL into arrays, with no Python object per event.

Name columns (user, mechanic, option, session) travel as 64-bit hashes computed by the
database and become codes in numpy. When the project is much of the event table, ranges of
the table's blocks are read by several connections at once, each range answered in a single
row of byte strings; otherwise the rows come through the project's index by binary COPY as
fixed-width records that numpy reads in place.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine

from models.canonical import MICROSECONDS
from models.columns import ARRAY_FIELDS, EventColumns, EventField
from models.ordering import index_in, load_reader_kernels
from service.storage.event_window import Comparison, EventWindow

# Name columns travel as 64-bit hashes (computed by PostgreSQL, no join needed) and become
# codes here; `_ABSENT` stands for a missing option or session. Should two names of a column
# share a hash (odds about n²/2⁶⁵), the names are coded by joins in SQL instead.
_HASH = "hashtextextended({}, 0)"
_ABSENT = -(2**63)
_NAME_COLUMNS = tuple(f.name for f in ARRAY_FIELDS if f.coded)
# Binary timestamptz is microseconds since 2000-01-01 UTC.
_POSTGRES_EPOCH_MICROS = 946_684_800 * MICROSECONDS


def _wire_type(field: EventField) -> str:
    """The SQL type a field of the models travels as: names as their 64-bit hashes (or codes),
    times as microseconds."""
    return "int8" if field.coded else field.sql


# Each wire type's binary form (as numpy reads it) and the function that sends it so.
_WIRE_DTYPES = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "float8": ">f8", "timestamptz": ">i8"}
_SEND = {
    "int2": "int2send",
    "int4": "int4send",
    "int8": "int8send",
    "float8": "float8send",
    "timestamptz": "timestamptz_send",
}
# Each field's array as read, in native byte order: names as hashes, times as microseconds.
_NATIVE: dict[str, Any] = {f.name: np.int64 if f.coded or f.time else f.dtype for f in ARRAY_FIELDS}
# Fixed-width binary COPY records: a field count, then (length, value) per field, big-endian.
_COPY_RECORD = np.dtype(
    [
        ("fields", ">i2"),
        *(
            item
            for f in ARRAY_FIELDS
            for item in ((f"{f.name}_length", ">i4"), (f.name, _WIRE_DTYPES[_wire_type(f)]))
        ),
    ]
)
_COPY_HEADER = 19  # signature (11) + flags (4) + header extension length (4)
_COPY_TRAILER = 2


def read_postgres(
    engine: Engine, project_id: int, window: EventWindow, *, streams: int
) -> tuple[EventColumns, NDArray[np.int64]]:
    """The project's events in `window` as arrays (and their times in microseconds since the
    epoch), all from one REPEATABLE READ snapshot."""
    where, params = _filter(project_id, window)
    # numba and the kernels load (about 0.7 s) while the database works
    kernels = threading.Thread(target=load_reader_kernels, daemon=True)
    kernels.start()
    snapshot = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    with snapshot as connection, connection.begin():
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        # Compiling these scans to machine code costs more than it saves.
        cursor.execute("SET LOCAL jit = off")
        blocks = _blocks_to_scan(cursor, where, params)
        if blocks is not None:
            cursor.execute("SELECT pg_export_snapshot()")
            shared = cursor.fetchone()[0]
            records = _scan_blocks(engine, shared, where, params, blocks, streams)
        else:
            records = _copy_records(cursor, _hashed_query(where), params)
        names = {
            **_user_and_mechanic_names(cursor, where, params),
            # Most products log no option or session: skip those scans when no event has one.
            **{
                f.name: _names(
                    cursor, f.name, where, params, present=bool((records[f.name] != _ABSENT).any())
                )
                for f in ARRAY_FIELDS
                if f.coded and f.optional
            },
        }
        kernels.join()
        if all(_distinct_hashes(hashes) for _, hashes in names.values()):
            codes = {name: _codes(records[name], names[name][1]) for name in _NAME_COLUMNS}
        else:  # two names share a hash: code them by joins in SQL instead
            records = _copy_records(cursor, _joined_query(where), params * (len(_NAME_COLUMNS) + 1))
            codes = {name: records[name] for name in _NAME_COLUMNS}
        cursor.close()
    _release_freed_memory()
    arrays: dict[str, Any] = {}
    for f in ARRAY_FIELDS:
        if f.coded:
            arrays[str(f.array)] = codes.pop(f.name).astype(f.dtype, copy=False)
            del records[f.name]
        elif f.time:
            micros = records.pop(f.name) + _POSTGRES_EPOCH_MICROS
            arrays[str(f.array)] = micros / MICROSECONDS
        else:
            arrays[str(f.array)] = records.pop(f.name)
    for f in ARRAY_FIELDS:
        if f.names is not None:
            arrays[f.names] = names[f.name][0]
    columns = EventColumns(**arrays)
    return columns, micros


def estimate_postgres(engine: Engine, project_id: int, window: EventWindow) -> int:
    """The planner's estimate of the events `read_postgres` would read (no scan)."""
    where, params = _filter(project_id, window)
    with engine.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        expected = _planned_rows(cursor, where, params)
        cursor.close()
    return int(expected)


def _planned_rows(cursor: Any, where: str, params: list[Any]) -> float:
    cursor.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM event WHERE {where}", params)
    return float(cursor.fetchone()[0][0]["Plan"]["Plan Rows"])


def _release_freed_memory() -> None:
    """Hand the read's freed buffers back to the operating system.

    The block ranges arrive as byte strings of a few MiB on reader threads; glibc serves them
    from per-thread heaps and keeps those heaps once freed (measured on a 10M-event read: 550
    MiB still resident after the arrays were built, held through the whole analysis). Only
    glibc has `malloc_trim`; elsewhere this does nothing.
    """
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # the C library already loaded
    if trim is not None:
        trim(0)


# ---- block-range scans: the fast path when the project is much of the table ---------------

# A project with at least this share of the event table is read by scanning the table's
# blocks in ranges, several at once; below it, through its index (COPY), so a small project
# in a large table never pays for a scan of everyone's events.
BLOCK_SCAN_MIN_SHARE = 0.25
BLOCKS_PER_QUERY = 2048  # 16 MiB of table a query: about 140k events, answered in one row


# Each range comes back as one row of byte strings: a column's values end to end, in the
# binary form of its type, which numpy reads in place.
def _block_fields() -> tuple[tuple[str, str, str], ...]:
    """(field, wire dtype, SQL expression) of each column a block range returns: the required
    fields, then the optional ones (`_OPTIONAL_FIELDS`)."""
    return tuple(
        (f.name, _WIRE_DTYPES[_wire_type(f)], f"{_SEND[_wire_type(f)]}({_value(f)})")
        for f in (*_REQUIRED, *_OPTIONAL)
    )


def _value(field: EventField, column: str | None = None) -> str:
    """The SQL of a field's value as it travels: a name's hash, an absent value's stand-in."""
    column = column or field.name
    if field.coded:
        column = _HASH.format(column)
    if not field.optional:
        return column
    absent = _ABSENT if field.coded else field.absent
    return f"coalesce({column}, {_literal(absent)})"


def _literal(value: float | None) -> str:
    if isinstance(value, float) and np.isnan(value):
        return "'NaN'"
    return str(int(value) if value is not None and float(value).is_integer() else value)


# The optional fields of a native event. Most products log none of them: a range is first
# read without them, with a count of the values it holds, and read again whole only if it
# holds any (sending four columns of defaults was a quarter of the database's work in a scan).
_REQUIRED = tuple(f for f in ARRAY_FIELDS if not f.optional)
_OPTIONAL = tuple(f for f in ARRAY_FIELDS if f.optional)
_OPTIONAL_FIELDS = tuple(f.name for f in _OPTIONAL)
_OPTIONAL_DEFAULTS = {f.name: _ABSENT if f.coded else f.absent for f in _OPTIONAL}
_OPTIONAL_PRESENT = " + ".join(f"count({f.name})" for f in _OPTIONAL)


def _blocks_to_scan(cursor: Any, where: str, params: list[Any]) -> int | None:
    """The table's size in blocks when a block scan is the cheaper read, else None."""
    expected = _planned_rows(cursor, where, params)
    cursor.execute(
        "SELECT reltuples, pg_relation_size('event') / current_setting('block_size')::int"
        " FROM pg_class WHERE oid = 'event'::regclass"
    )
    table_rows, blocks = cursor.fetchone()
    share = expected / max(float(table_rows), expected, 1.0)
    return int(blocks) if share >= BLOCK_SCAN_MIN_SHARE else None


def _scan_blocks(
    engine: Engine,
    snapshot: str,
    where: str,
    params: list[Any],
    blocks: int,
    streams: int,
) -> dict[str, NDArray[Any]]:
    """Every range of blocks, read by `streams` connections sharing `snapshot` (so together
    they see exactly what one transaction sees); the database does the per-row work and
    Python touches one row per range."""
    fields = _block_fields()
    lean = fields[: -len(_OPTIONAL_FIELDS)]
    ranges = "FROM event WHERE ctid >= %s::tid AND ctid < %s::tid AND"
    aggregates = ", ".join(f"string_agg({expr}, '')" for _, _, expr in fields)
    whole_query = f"SELECT {aggregates} {ranges} {where}"
    aggregates = ", ".join(f"string_agg({expr}, '')" for _, _, expr in lean)
    lean_query = f"SELECT count(*), {_OPTIONAL_PRESENT}, {aggregates} {ranges} {where}"
    # The table may have grown since the snapshot; blocks past `blocks` hold nothing it sees.
    starts = list(range(0, blocks + 1, BLOCKS_PER_QUERY))

    def scan(share: int) -> dict[str, list[NDArray[Any]]]:
        found: dict[str, list[NDArray[Any]]] = {name: [] for name, _, _ in fields}
        connection = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        # once a range holds optional values, later ones are likely to: read them whole
        whole = False
        with connection, connection.begin():
            cursor = connection.connection.driver_connection.cursor(binary=True)  # type: ignore[union-attr]
            cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            cursor.execute("SET LOCAL jit = off")
            for start in starts[share::streams]:
                bounds = [f"({start},0)", f"({start + BLOCKS_PER_QUERY},0)", *params]
                if not whole:
                    cursor.execute(lean_query, bounds)
                    count, present, *row = cursor.fetchone()
                    if count == 0:  # no event of the project in these blocks
                        continue
                    whole = present > 0
                if whole:
                    cursor.execute(whole_query, bounds)
                    row = cursor.fetchone()
                    if row[0] is None:
                        continue
                for (name, wire, _), data in zip(fields, row, strict=False):
                    found[name].append(np.frombuffer(data, dtype=wire).astype(_NATIVE[name]))
                if not whole:
                    for name in _OPTIONAL_FIELDS:
                        found[name].append(
                            np.full(count, _OPTIONAL_DEFAULTS[name], dtype=_NATIVE[name])
                        )
            cursor.close()
        return found

    with ThreadPoolExecutor(max_workers=streams) as pool:
        parts = list(pool.map(scan, range(streams)))
    # Field by field, releasing each field's pieces once joined: the pieces and the joined
    # arrays of all ten fields are never held at once.
    joined: dict[str, NDArray[Any]] = {}
    for name, _, _ in fields:
        pieces = [piece for part in parts for piece in part.pop(name)]
        joined[name] = np.concatenate(pieces) if pieces else np.zeros(0, dtype=_NATIVE[name])
        del pieces
    return joined


# ---- COPY: through the index ---------------------------------------------------------------


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
    # One pass over the audit index (project, mechanic, user, ts) gives the distinct pairs in
    # order; the database reduces them to each name set, so Python sees each name once.
    cursor.execute(
        f"WITH pairs AS (SELECT DISTINCT mechanic, user_id FROM event WHERE {where})"
        f" SELECT 0, m, {_HASH.format('m')} FROM (SELECT DISTINCT mechanic AS m FROM pairs) a"
        f" UNION ALL"
        f" SELECT 1, u, {_HASH.format('u')} FROM (SELECT DISTINCT user_id AS u FROM pairs) b",
        params,
    )
    rows = cursor.fetchall()
    return {
        "mechanic": _sorted_names((name, h) for column, name, h in rows if column == 0),
        "user_id": _sorted_names((name, h) for column, name, h in rows if column == 1),
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
    codes = index_in(name_hashes, event_hashes)
    missing = codes < 0
    if missing.any() and not (event_hashes[missing] == _ABSENT).all():
        raise RuntimeError("events name values that the snapshot does not hold")
    return codes


def _hashed_query(where: str) -> str:
    values = ", ".join(f"{_value(f)}::{_wire_type(f)}" for f in ARRAY_FIELDS)
    return f"COPY (SELECT {values} FROM event WHERE {where}) TO STDOUT (FORMAT binary)"


def _joined_query(where: str) -> str:
    # Codes are ranks in byte order (COLLATE "C"), the order numpy sorts the same names in.
    def coded(column: str) -> str:
        return (
            f'(SELECT {column} AS name, (row_number() OVER (ORDER BY {column} COLLATE "C") - 1)'
            f" AS code FROM (SELECT DISTINCT {column} FROM event WHERE {where}"
            f" AND {column} IS NOT NULL) d)"
        )

    values: list[str] = []
    joins: list[str] = []
    for f in ARRAY_FIELDS:
        if f.coded:
            alias = f"n{len(joins)}"
            join = "LEFT JOIN" if f.optional else "JOIN"
            joins.append(f"{join} {coded(f.name)} {alias} ON {alias}.name = e.{f.name}")
            code = (
                f"coalesce({alias}.code, {_literal(f.absent)})" if f.optional else f"{alias}.code"
            )
            values.append(f"{code}::int8")
        else:
            values.append(f"{_value(f, f'e.{f.name}')}::{f.sql}")
    return (
        f"COPY (SELECT {', '.join(values)} FROM event e {' '.join(joins)}"
        f" WHERE {where}) TO STDOUT (FORMAT binary)"
    )


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


# How each comparison of the window reads in SQL, with its parameter.
_CONDITIONS: dict[Comparison, tuple[str, Any]] = {
    ">=": ("{} >= %s", lambda bound: bound),
    "<": ("{} < %s", lambda bound: bound),
    "in": ("{} = ANY(%s)", list),
}


def _filter(project_id: int, window: EventWindow) -> tuple[str, list[Any]]:
    clauses: list[str] = ["project_id = %s"]
    params: list[Any] = [project_id]
    for field, comparison, bound in window.conditions():
        clause, parameter = _CONDITIONS[comparison]
        clauses.append(clause.format(field))
        params.append(parameter(bound))
    return " AND ".join(clauses), params
