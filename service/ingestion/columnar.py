"""Native event files read as arrays: validated in record batches, accumulated as compact
columns, and turned into the `EventColumns` the analysis reads — no Python object per event.

    batches = read_batches(sources(["events/*.ndjson.gz"]), limits=Limits(now))
    columns, summary = collect(batches)

`read_batches` yields `ValidBatch`es (the stored fields of the valid events, in file order) and
reports each fault as an `InputError` (file, line or row, field, reason); a bad row is never
dropped silently. Each batch is checked by the vectorised screen (`service.ingestion.screen`),
and the rows it does not pass by the per-event validator, which accepts them or names the fault.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from models.canonical import MICROSECONDS, InputSummary, canonical_events
from models.columns import (
    MAX_ABS_VALUE,
    MAX_COST,
    NO_OPTION,
    NO_SESSION,
    OFFSET_UNKNOWN,
    EventColumns,
)
from service.ingestion.events import (
    EPOCH,
    KINDS,
    EventRecord,
    EventRejected,
    digest_of_content,
    validate_event,
)
from service.ingestion.formats import CsvFault, Piece, pieces
from service.ingestion.screen import normalise, screen
from service.ingestion.sources import Source, SourceError
from service.storage.event_window import EventWindow

KIND_NAMES = {code: name for name, code in KINDS.items()}
# The stored fields of a valid event, as a batch holds them (time in microseconds since the
# epoch; a zone offset or wait not sent as `models.columns.EventColumns` holds it).
VALID_SCHEMA = pa.schema(
    [
        ("message_id", pa.string()),
        ("user_id", pa.string()),
        ("mechanic", pa.string()),
        ("kind", pa.int8()),
        ("micros", pa.int64()),
        ("value", pa.float64()),
        ("cost", pa.float64()),
        ("option", pa.string()),
        ("session_id", pa.string()),
        ("utc_offset_s", pa.int32()),
        ("delay_s", pa.float64()),
    ]
)
Reading = Callable[[int, int, int], None]  # (events read, bytes read, bytes in all)


@dataclass(frozen=True, slots=True)
class InputError:
    """A fault in an input: where (file and line, or row for CSV and Parquet), which field,
    and why."""

    path: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


class BadInput(Exception):
    def __init__(self, errors: list[InputError], *, more: int = 0) -> None:
        super().__init__("; ".join(str(e) for e in errors[:20]))
        self.errors = errors
        self.more = more  # faults found beyond those listed


@dataclass(frozen=True, slots=True)
class Limits:
    """What the validation measures against: the time now, how far ahead an event may be,
    and the bounds on amounts."""

    now: datetime
    future_tolerance_s: float = 86_400.0
    max_abs_value: float = MAX_ABS_VALUE
    max_cost: float = MAX_COST


def read_batches(
    inputs: Iterable[Source],
    *,
    limits: Limits,
    on_error: Callable[[InputError], None],
    reading: Reading | None = None,
) -> Iterator[pa.Table]:
    """The valid events of every input, in batches (`VALID_SCHEMA`, in file order); each fault
    goes to `on_error`, and reading goes on."""
    given = list(inputs)
    total = sum(source.size or 0 for source in given)
    events, done = 0, 0
    for source in given:
        try:
            with source.opened() as (form, stream, position):
                for piece in pieces(form, stream):
                    batch = _validate(piece, source.name, limits, on_error)
                    events += batch.num_rows
                    if reading is not None:
                        reading(events, done + position(), total)
                    yield batch
        except SourceError as exc:
            on_error(InputError(source.name, 0, "", exc.reason))
        except (OSError, EOFError, ValueError, pa.ArrowException) as exc:
            on_error(InputError(source.name, 0, "", f"cannot read: {exc}"))
        done += source.size or 0


def _validate(
    piece: Piece, path: str, limits: Limits, on_error: Callable[[InputError], None]
) -> pa.Table:
    faults = [
        (fault.line, InputError(path, fault.line, "", fault.reason)) for fault in piece.faults
    ]
    judged: list[tuple[int, int, Any]] = [
        (i, line, item) for i, (line, item) in enumerate(piece.items)
    ]
    parts: list[tuple[NDArray[np.intp], pa.Table]] = []
    if piece.table is not None and piece.lines is not None and piece.item is not None:
        columns, odd = normalise(piece.table)
        verdict = screen(
            columns,
            odd,
            now=limits.now,
            future_tolerance_s=limits.future_tolerance_s,
            max_abs_value=limits.max_abs_value,
            max_cost=limits.max_cost,
        )
        rows = np.flatnonzero(verdict.passed)
        keep = pa.array(rows)
        ids = columns["message_id"].take(keep)
        screened = pa.table(
            {
                "message_id": ids,
                "user_id": columns["user_id"].take(keep),
                "mechanic": columns["mechanic"].take(keep),
                "kind": verdict.kind[rows],
                "micros": verdict.micros[rows],
                "value": verdict.value[rows],
                "cost": verdict.cost[rows],
                "option": columns["option"].take(keep),
                "session_id": columns["session_id"].take(keep),
                "utc_offset_s": verdict.utc_offset_s[rows],
                "delay_s": verdict.delay_s[rows],
            },
            schema=VALID_SCHEMA,
        )
        if ids.null_count:
            screened = _with_content_ids(screened)
        parts.append((rows, screened))
        failed = np.flatnonzero(~verdict.passed)
        if failed.shape[0]:
            numbers = piece.lines(failed)
            for row, line in zip(failed.tolist(), numbers.tolist(), strict=True):
                try:
                    judged.append((row, line, piece.item(row)))
                except CsvFault as exc:
                    faults.append((line, InputError(path, line, "", str(exc))))
    records: list[EventRecord] = []
    positions: list[int] = []
    for row, line, item in judged:
        try:
            record = validate_event(
                item,
                now=limits.now,
                future_tolerance_s=limits.future_tolerance_s,
                max_abs_value=limits.max_abs_value,
                max_cost=limits.max_cost,
            )
        except EventRejected as exc:
            faults.append((line, InputError(path, line, exc.rejection.field, exc.rejection.reason)))
            continue
        records.append(record)
        positions.append(row)
    if records:
        parts.append((np.asarray(positions, dtype=np.intp), _records_table(records)))
    for _, fault in sorted(faults, key=lambda found: found[0]):
        on_error(fault)
    return _in_order(parts)


def _in_order(parts: list[tuple[NDArray[np.intp], pa.Table]]) -> pa.Table:
    if not parts:
        return VALID_SCHEMA.empty_table()
    if len(parts) == 1:
        return parts[0][1]
    order = np.argsort(np.concatenate([rows for rows, _ in parts]), kind="stable")
    return pa.concat_tables([table for _, table in parts]).take(pa.array(order))


def _records_table(records: list[EventRecord]) -> pa.Table:
    """Records of the per-event validator in a batch's form."""
    return pa.table(
        {
            "message_id": [r.message_id for r in records],
            "user_id": [r.user_id for r in records],
            "mechanic": [r.mechanic for r in records],
            "kind": [r.kind for r in records],
            "micros": [_micros(r.ts) for r in records],
            "value": [r.value for r in records],
            "cost": [r.cost for r in records],
            "option": [r.option for r in records],
            "session_id": [r.session_id for r in records],
            "utc_offset_s": [
                OFFSET_UNKNOWN if r.utc_offset_s is None else r.utc_offset_s for r in records
            ],
            "delay_s": [math.nan if r.delay_s is None else r.delay_s for r in records],
        },
        schema=VALID_SCHEMA,
    )


def _with_content_ids(table: pa.Table) -> pa.Table:
    """Events sent without a message id (and without properties) get the id the per-event
    validator gives them: a digest of their content (`digest_of_content`)."""
    ids = table.column("message_id").to_pylist()
    missing = [i for i, value in enumerate(ids) if value is None]
    rows = table.take(pa.array(missing)).to_pylist()
    for i, row in zip(missing, rows, strict=True):
        ts = EPOCH + timedelta(microseconds=row["micros"])
        ids[i] = digest_of_content(
            row["user_id"], ts.isoformat(), row["mechanic"], KIND_NAMES[row["kind"]],
            row["value"], row["cost"], row["option"], row["session_id"], None,
        )  # fmt: skip
    return table.set_column(0, "message_id", pa.array(ids, pa.string()))


def _micros(ts: datetime) -> int:
    delta = ts.astimezone(UTC) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * MICROSECONDS + delta.microseconds


# ---- into arrays ----------------------------------------------------------------------------


def collect(
    batches: Iterable[pa.Table], window: EventWindow | None = None
) -> tuple[EventColumns, InputSummary]:
    """The events of all batches, duplicates (by message id) kept once — the first, as stored
    events would be — and those in `window`, as arrays in their canonical order with their
    digest (`models.canonical.canonical_events`)."""
    kept = [batch for batch in batches if batch.num_rows]
    table = pa.concat_tables(kept) if kept else VALID_SCHEMA.empty_table()
    del kept
    table = _first_of_each_message(table).drop_columns(["message_id"])
    if window is not None and window.conditions():
        table = table.filter(_admitted(table, window))
    micros = _numbers(table, "micros", np.int64)
    user_ids, user = _codes(table.column("user_id"), absent=0)
    mechanics, mechanic = _codes(table.column("mechanic"), absent=0)
    options, option = _codes(table.column("option"), absent=NO_OPTION)
    _, session = _codes(table.column("session_id"), absent=NO_SESSION)
    columns = EventColumns(
        user=user.astype(np.int64),
        mechanic=mechanic.astype(np.int32),
        kind=_numbers(table, "kind", np.int8),
        t=micros / MICROSECONDS,
        value=_numbers(table, "value", np.float64),
        cost=_numbers(table, "cost", np.float64),
        option=option.astype(np.int32),
        session=session.astype(np.int64),
        utc_offset_s=_numbers(table, "utc_offset_s", np.int32),
        delay_s=_numbers(table, "delay_s", np.float64),
        user_ids=user_ids,
        mechanics=mechanics,
        options=options,
    )
    del table
    return canonical_events(columns, micros)


def _first_of_each_message(table: pa.Table) -> pa.Table:
    ids = pc.dictionary_encode(table.column("message_id").combine_chunks())
    if len(ids.dictionary) == table.num_rows:
        return table
    _, first = np.unique(ids.indices.to_numpy(), return_index=True)
    return table.take(pa.array(np.sort(first)))


def _admitted(table: pa.Table, window: EventWindow) -> pa.ChunkedArray:
    """Which events are in the window (its conditions, on the stored fields)."""
    keep = pa.chunked_array([np.ones(table.num_rows, dtype=np.bool_)])
    for field, comparison, bound in window.conditions():
        if field == "ts":
            column, bound = table.column("micros"), _micros(bound)
        else:
            column = table.column(field)
        if comparison == ">=":
            meets = pc.greater_equal(column, bound)
        elif comparison == "<":
            meets = pc.less(column, bound)
        else:
            meets = pc.is_in(column, value_set=pa.array(list(bound), pa.string()))
        keep = pc.and_(keep, meets)
    return keep


def _numbers(table: pa.Table, name: str, dtype: type[np.generic]) -> NDArray[Any]:
    column = table.column(name)
    if column.num_chunks == 0:
        return np.zeros(0, dtype=dtype)
    return np.array(column.to_numpy(), dtype=dtype)  # a writable copy (arrow's is read-only)


def _codes(column: pa.ChunkedArray, *, absent: int) -> tuple[tuple[str, ...], NDArray[np.int64]]:
    """Text as codes into its sorted distinct values (as `EventColumns.from_arrays` codes it);
    null as `absent`."""
    if column.num_chunks == 0 or len(column) == 0:
        return (), np.zeros(0, dtype=np.int64)
    encoded = pc.dictionary_encode(column.combine_chunks())
    names = encoded.dictionary
    order = np.asarray(pc.array_sort_indices(names).to_numpy(), dtype=np.int64)
    rank = np.empty(order.shape[0] + 1, dtype=np.int64)
    rank[order] = np.arange(order.shape[0])
    rank[-1] = absent
    indices = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    codes = rank[np.asarray(indices, dtype=np.int64)]
    return tuple(names.take(pa.array(order)).to_pylist()), codes
