"""The rules of a native event checked over arrays: which rows of a batch meet every rule of
`service.ingestion.events`, and their stored values, with no Python object per event.

The screen passes a row only when the per-event validator (`validate_event`) would accept it
with the same stored values; it does not name faults. A row it does not pass — a fault, or a
spelling it does not read (a time written in another ISO form, a time zone property, values of
unexpected types) — is judged by `validate_event`, which accepts it or names the field and the
reason. So each rule's message is written once, and its bounds are read from one place: the
kinds, the required fields, the longest texts and the property names in
`service.ingestion.events`, the numbers' bounds in `models.columns`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from models.columns import MAX_ABS_VALUE, MAX_COST, MAX_UTC_OFFSET_S, OFFSET_UNKNOWN
from service.ingestion.events import (
    DELAY_PROPERTY,
    EPOCH,
    KINDS,
    MAX_LENGTH,
    MAX_TEXT,
    MILLISECONDS_ABOVE,
    OFFSET_PROPERTY,
    REQUIRED_FIELDS,
    ZONE_PROPERTY,
)

MICROS = 1_000_000
TEXT_FIELDS = tuple(MAX_LENGTH)
# How the columnar readers hand a batch over: the event's fields, its time split by how it was
# written (text, a number of epoch seconds or milliseconds, or an arrow timestamp).
TIME_COLUMNS = ("ts_text", "ts_number", "ts_micros")
NUMBER_FIELDS = ("value", "cost")
# RFC 3339 as the screen reads it (checked on the bytes); any other form
# `datetime.fromisoformat` takes goes to the per-event validator.
RFC3339 = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"
# The years the screen converts itself (the per-event validator judges the rest).
FIRST_YEAR, LAST_YEAR = 1970, 9998
# Nesting of properties the screen walks; deeper ones go to the per-event validator.
SCREENED_DEPTH = 16


@dataclass(slots=True)
class Screened:
    """A batch's verdict: `passed` rows and, for them, the stored values of the fields the
    models read that are not text (absent values as `models.columns.EventColumns` holds them)."""

    passed: NDArray[np.bool_]
    kind: NDArray[np.int8]
    micros: NDArray[np.int64]
    value: NDArray[np.float64]
    cost: NDArray[np.float64]
    utc_offset_s: NDArray[np.int32]
    delay_s: NDArray[np.float64]


def normalise(table: pa.Table) -> tuple[dict[str, pa.Array], NDArray[np.bool_]]:
    """The columns the screen reads, from a batch as a reader gave it (absent fields as nulls),
    and the rows holding a value of a type the screen does not read."""
    n = table.num_rows
    odd = np.zeros(n, dtype=np.bool_)
    columns: dict[str, pa.Array] = {}
    present = set(table.column_names)

    def raw(name: str) -> pa.Array | None:
        if name not in present:
            return None
        column = table.column(name)
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        return None if pa.types.is_null(array.type) else array

    def unread(array: pa.Array) -> None:
        odd[_valid(array)] = True

    for name in (*TEXT_FIELDS, "kind"):
        array = raw(name)
        if array is not None and not _is_text(array.type):
            unread(array)
            array = None
        columns[name] = pa.nulls(n, pa.string()) if array is None else array.cast(pa.string())
    for name in NUMBER_FIELDS:
        array = raw(name)
        if array is not None and not _is_number(array.type):
            unread(array)
            array = None
        columns[name] = pa.nulls(n, pa.float64()) if array is None else array.cast(pa.float64())
    if "unread" in present:  # rows a reader could not convert as the per-event path does
        odd |= _bools(table.column("unread"))
    stamp = raw("timestamp")
    text, number, micros = pa.nulls(n, pa.string()), pa.nulls(n, pa.float64()), None
    if (written := raw("timestamp_number")) is not None:  # CSV: numbers written as text
        number = written.cast(pa.float64())
    if stamp is not None:
        if _is_text(stamp.type):
            text = stamp.cast(pa.string())
        elif _is_number(stamp.type):
            number = stamp.cast(pa.float64())
            # beyond 2**53 a float differs from the integer the per-event validator divides
            odd |= np.abs(_floats(number, 0.0)) > 2.0**53
        elif pa.types.is_timestamp(stamp.type) and stamp.type.tz is not None:
            micros = stamp.cast(pa.timestamp("us", tz="UTC"), safe=False).cast(pa.int64())
            odd |= _valid(stamp) & ~_valid(micros)
        else:
            unread(stamp)
    columns["ts_text"], columns["ts_number"] = text, number
    columns["ts_micros"] = pa.nulls(n, pa.int64()) if micros is None else micros
    properties = raw("properties")
    if properties is not None and not (
        pa.types.is_struct(properties.type) and _screenable(properties.type, 1)
    ):
        unread(properties)
        properties = None
    columns["properties"] = properties if properties is not None else pa.nulls(n, pa.struct([]))
    if pa.types.is_struct(columns["properties"].type):
        odd |= _unstorable(columns["properties"])
    return columns, odd


def screen(
    columns: dict[str, pa.Array],
    odd: NDArray[np.bool_],
    *,
    now: datetime,
    future_tolerance_s: float,
    max_abs_value: float = MAX_ABS_VALUE,
    max_cost: float = MAX_COST,
) -> Screened:
    """Which rows meet every rule (see the module), and their stored values."""
    n = odd.shape[0]
    passed = ~odd
    for name in REQUIRED_FIELDS:
        if name != "timestamp":  # read from one of `TIME_COLUMNS` (below)
            passed &= _valid(columns[name])
    for name in TEXT_FIELDS:
        text = columns[name]
        length = _ints(pc.utf8_length(text), 1)
        passed &= (length >= 1) & (length <= MAX_LENGTH[name])
        passed &= ~_bools(pc.match_substring(text, "\x00"))
    kind = np.full(n, -1, dtype=np.int8)
    for name, code in KINDS.items():
        kind[_bools(pc.equal(columns["kind"], name))] = code
    passed &= kind >= 0
    value, cost = _floats(columns["value"], 0.0), _floats(columns["cost"], 0.0)
    with np.errstate(invalid="ignore"):
        passed &= np.isfinite(value) & np.isfinite(cost)
        passed &= (np.abs(value) <= max_abs_value) & (cost >= 0.0) & (cost <= max_cost)
    passed &= np.where(kind == KINDS["response"], value == 0.0, cost == 0.0)

    micros, written = _times(columns, passed)
    latest = _micros_of(now) + round(future_tolerance_s * MICROS)
    passed &= (micros >= 0) & (micros <= latest)

    offset, delay = _properties(columns["properties"], passed)
    offset = np.where(offset == OFFSET_UNKNOWN, written, offset).astype(np.int32)
    # without a message id, the event's id is a digest of its content, properties included:
    # the per-event validator computes it where there are properties
    passed &= _valid(columns["message_id"]) | ~_valid(columns["properties"])
    return Screened(passed, kind, micros, value, cost, offset, delay)


def _times(
    columns: dict[str, pa.Array], passed: NDArray[np.bool_]
) -> tuple[NDArray[np.int64], NDArray[np.int32]]:
    """Each row's time in microseconds since the epoch and the UTC offset written in it
    (OFFSET_UNKNOWN for none or zero); rows whose time the screen cannot read fail `passed`."""
    n = passed.shape[0]
    micros = np.full(n, -1, dtype=np.int64)
    written = np.full(n, OFFSET_UNKNOWN, dtype=np.int32)
    text, number, typed = (_valid(columns[name]) for name in TIME_COLUMNS)
    passed &= (text.astype(np.int8) + number + typed) == 1
    if text.any():
        ok, parsed, offset = _rfc3339(columns["ts_text"])
        micros[ok] = parsed[ok]
        written[ok] = np.where(offset[ok] != 0, offset[ok], OFFSET_UNKNOWN)
        passed &= ok | ~text
    if number.any():
        raw = _floats(columns["ts_number"], 0.0)
        with np.errstate(invalid="ignore", over="ignore"):
            seconds = np.where(np.abs(raw) > MILLISECONDS_ABOVE, raw / 1000.0, raw)
            ok = number & np.isfinite(seconds) & (seconds >= 0.0) & (seconds < 2.5e11)
            # as `timedelta(seconds=…)` rounds: whole seconds, then the fraction half-even
            fraction, whole = np.modf(np.where(ok, seconds, 0.0))
            parsed = whole.astype(np.int64) * MICROS + np.round(fraction * MICROS).astype(np.int64)
        micros[ok] = parsed[ok]
        passed &= ok | ~number
    if typed.any():
        micros[typed] = _ints(columns["ts_micros"], -1)[typed]
    return micros, written


def _rfc3339(text: pa.Array) -> tuple[NDArray[np.bool_], NDArray[np.int64], NDArray[np.int32]]:
    """Rows written as RFC 3339 in the form the screen reads (`RFC3339`), their UTC
    microseconds and the offset written (seconds), read from the text's bytes."""
    n = len(text)
    ok = np.zeros(n, dtype=np.bool_)
    micros = np.zeros(n, dtype=np.int64)
    offset = np.zeros(n, dtype=np.int32)
    buffers = text.buffers()
    if buffers[2] is None or n == 0:
        return ok, micros, offset
    bounds = np.frombuffer(buffers[1], dtype=np.int32)[text.offset : text.offset + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8)
    length = np.diff(bounds)
    rows = np.flatnonzero(_valid(text) & (length >= 20) & (length <= 32))
    start, end = bounds[:-1][rows].astype(np.int64), bounds[1:][rows].astype(np.int64)
    last = data.shape[0] - 1

    def char(at: NDArray[np.int64]) -> NDArray[np.uint8]:
        return data[np.clip(at, 0, last)]

    def digit(at: NDArray[np.int64]) -> NDArray[np.bool_]:
        c = char(at)
        return np.asarray((c >= 48) & (c <= 57), dtype=np.bool_)

    def number(at: NDArray[np.int64], count: int) -> NDArray[np.int64]:
        out = np.zeros(at.shape[0], dtype=np.int64)
        for k in range(count):
            out = out * 10 + (char(at + k).astype(np.int64) - 48)
        return out

    shape = np.ones(rows.shape[0], dtype=np.bool_)
    for k in (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18):
        shape &= digit(start + k)
    shape &= (char(start + 4) == ord("-")) & (char(start + 7) == ord("-"))
    shape &= (char(start + 10) == ord("T")) | (char(start + 10) == ord(" "))
    shape &= (char(start + 13) == ord(":")) & (char(start + 16) == ord(":"))
    zulu = char(end - 1) == ord("Z")
    signed = (char(end - 6) == ord("+")) | (char(end - 6) == ord("-"))
    shape &= zulu | (
        signed & digit(end - 5) & digit(end - 4) & (char(end - 3) == ord(":"))
        & digit(end - 2) & digit(end - 1)
    )  # fmt: skip
    dotted = end - start - 19 - np.where(zulu, 1, 6)  # the fraction with its dot
    shape &= (dotted == 0) | ((dotted >= 2) & (dotted <= 7) & (char(start + 19) == ord(".")))
    fraction = np.zeros(rows.shape[0], dtype=np.int64)
    for k in range(6):
        inside = k < dotted - 1
        shape &= ~inside | digit(start + 20 + k)
        fraction = fraction * 10 + np.where(inside, char(start + 20 + k).astype(np.int64) - 48, 0)
    year, month, day = number(start, 4), number(start + 5, 2), number(start + 8, 2)
    hour, minute, second = number(start + 11, 2), number(start + 14, 2), number(start + 17, 2)
    sign = np.where(char(end - 6) == ord("-"), -1, 1)
    zone_hours, zone_minutes = number(end - 5, 2), number(end - 2, 2)
    zone = np.where(zulu, 0, sign * (zone_hours * 3600 + zone_minutes * 60))
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_days = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    last_day = month_days[np.clip(month - 1, 0, 11)] + ((month == 2) & leap)
    good = shape & (year >= FIRST_YEAR) & (year <= LAST_YEAR) & (month >= 1) & (month <= 12)
    good &= (day >= 1) & (day <= last_day) & (hour <= 23) & (minute <= 59) & (second <= 59)
    good &= zulu | ((zone_hours <= 23) & (zone_minutes <= 59))
    good &= np.abs(zone) <= MAX_UTC_OFFSET_S
    days = _days_from_civil(year, month, day)
    local = (days * 86_400 + hour * 3600 + minute * 60 + second) * MICROS + fraction
    micros[rows] = local - zone * MICROS
    offset[rows] = zone
    ok[rows] = good
    return ok, micros, offset


def _days_from_civil(
    year: NDArray[np.int64], month: NDArray[np.int64], day: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Days since 1970-01-01 of proleptic Gregorian dates (years ≥ 1)."""
    y = year - (month <= 2)
    era = y // 400
    year_of_era = y - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return np.asarray(era * 146_097 + day_of_era - 719_468, dtype=np.int64)


def _properties(
    properties: pa.Array, passed: NDArray[np.bool_]
) -> tuple[NDArray[np.int32], NDArray[np.float64]]:
    """The zone offset and the wait the properties give; a row whose properties the screen
    does not read (a time zone name, a bad offset or wait) fails `passed`."""
    n = passed.shape[0]
    offset = np.full(n, OFFSET_UNKNOWN, dtype=np.int32)
    delay = np.full(n, np.nan, dtype=np.float64)
    if not pa.types.is_struct(properties.type):
        return offset, delay
    names = {properties.type.field(i).name for i in range(properties.type.num_fields)}
    here = _valid(properties)

    def child(name: str) -> pa.Array | None:
        if name not in names:
            return None
        array = pc.struct_field(properties, name)
        return None if pa.types.is_null(array.type) else array

    if (zone := child(ZONE_PROPERTY)) is not None:
        passed &= ~(here & _valid(zone))
    if (given := child(OFFSET_PROPERTY)) is not None:
        sent = here & _valid(given)
        if _is_number(given.type):
            seconds = _floats(given.cast(pa.float64()), 0.0)
            with np.errstate(invalid="ignore"):
                good = np.isfinite(seconds) & (np.abs(seconds) <= MAX_UTC_OFFSET_S)
            passed &= good | ~sent
            offset[sent & good] = np.trunc(seconds[sent & good]).astype(np.int32)
        else:
            passed &= ~sent
    if (wait := child(DELAY_PROPERTY)) is not None:
        sent = here & _valid(wait)
        if _is_number(wait.type):
            seconds = _floats(wait.cast(pa.float64()), 0.0)
            with np.errstate(invalid="ignore"):
                good = np.isfinite(seconds) & (seconds >= 0.0)
            passed &= good | ~sent
            delay[sent & good] = seconds[sent & good]
        else:
            passed &= ~sent
    return offset, delay


def _screenable(kind: pa.DataType, depth: int) -> bool:
    """Properties the screen walks: structs of text, numbers, booleans and nulls, not deep,
    with keys that are storable text."""
    if pa.types.is_struct(kind):
        if depth > SCREENED_DEPTH:
            return False
        fields = [kind.field(i) for i in range(kind.num_fields)]
        return all(
            "\x00" not in f.name and len(f.name) <= MAX_TEXT and _screenable(f.type, depth + 1)
            for f in fields
        )
    return _is_text(kind) or _is_number(kind) or pa.types.is_boolean(kind) or pa.types.is_null(kind)


def _unstorable(properties: pa.Array) -> NDArray[np.bool_]:
    """Rows whose properties hold text with a NUL or too long, or a number that is not finite."""
    n = len(properties)
    found = np.zeros(n, dtype=np.bool_)
    here = _valid(properties)
    for i in range(properties.type.num_fields):
        child = pc.struct_field(properties, i)
        if pa.types.is_struct(child.type):
            found |= _unstorable(child)
        elif _is_text(child.type):
            text = child.cast(pa.string())
            found |= _bools(pc.match_substring(text, "\x00"))
            found |= _ints(pc.utf8_length(text), 0) > MAX_TEXT
        elif pa.types.is_floating(child.type):
            with np.errstate(invalid="ignore"):
                found |= ~np.isfinite(_floats(child.cast(pa.float64()), 0.0))
    return found & here


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _is_number(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def _valid(array: pa.Array) -> NDArray[np.bool_]:
    return _bools(pc.is_valid(array))


def _bools(array: Any) -> NDArray[np.bool_]:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=np.bool_)


def _ints(array: Any, absent: int) -> NDArray[np.int64]:
    filled = pc.fill_null(array.cast(pa.int64()), absent)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=np.int64)


def _floats(array: Any, absent: float) -> NDArray[np.float64]:
    filled = pc.fill_null(array, absent)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=np.float64)


def _micros_of(instant: datetime) -> int:
    delta = instant - EPOCH
    return (delta.days * 86_400 + delta.seconds) * MICROS + delta.microseconds
