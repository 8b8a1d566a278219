"""Event files parsed in record batches by pyarrow: NDJSON, JSON arrays, CSV and Parquet.

Each format gives `Piece`s: a batch of rows parsed into arrow arrays, with the file line (or
row) of each and, for any row the screen does not pass, the item as the per-event validator
reads it. A stretch of NDJSON that pyarrow cannot parse as one batch (an unparseable line,
values of changing types, invalid text) is given line by line (`Piece.items`), as the
per-event path reads it, so its faults are named exactly as before.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq
from numpy.typing import NDArray

from service.ingestion.events import MAX_LENGTH, REQUIRED_FIELDS
from service.ingestion.payloads import loads
from service.ingestion.screen import NUMBER_FIELDS
from service.ingestion.sources import Format

CHUNK_BYTES = 16 * 1024 * 1024
PARQUET_ROWS = 131_072
JSON_ITEMS = 65_536
BOM = b"\xef\xbb\xbf"
CSV_NUMBERS = NUMBER_FIELDS
# Explicit nulls where null is not "absent", and escaped surrogates (not text): pyarrow reads
# both differently from the per-event parser, so such stretches are read line by line.
_NULL_FIELD = re.compile(
    rb'"(?:%s)"\s*:\s*$' % "|".join((*REQUIRED_FIELDS, *NUMBER_FIELDS)).encode()
)
_SURROGATE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
# A line that may be blank (empty, or white space at its start).
_MAYBE_BLANK = re.compile(rb"\n[ \t\r\n]")
_TEXT = {name: pa.string() for name in (*MAX_LENGTH, "kind")}
_SCHEMAS = tuple(
    pa.schema({**_TEXT, "timestamp": stamp, "value": pa.float64(), "cost": pa.float64()})
    for stamp in (pa.string(), pa.float64())
)
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


@dataclass(frozen=True, slots=True)
class LineFault:
    """A line that is not an event at all (not JSON, a CSV cell that is not a number)."""

    line: int
    reason: str


@dataclass(slots=True)
class Piece:
    """Rows of one file: parsed as a batch (`table`), or item by item (`items`)."""

    table: pa.Table | None = None
    lines: Callable[[NDArray[np.intp]], NDArray[np.int64]] | None = None
    item: Callable[[int], Any] | None = None
    items: list[tuple[int, Any]] = field(default_factory=list)
    faults: list[LineFault] = field(default_factory=list)


def pieces(form: Format, stream: IO[bytes]) -> Iterator[Piece]:
    """The file's rows in pieces of bounded size."""
    if form == "parquet":
        return _parquet(stream)
    if form == "csv":
        return _csv(stream)
    if form == "json":
        return _json_array(stream)
    return _ndjson(stream)


def _numbered_after(before: int) -> Callable[[NDArray[np.intp]], NDArray[np.int64]]:
    """Rows numbered from `before` + 1 (events of an array, rows of a table)."""
    return lambda rows: np.asarray(rows, dtype=np.int64) + before + 1


# ---- NDJSON ---------------------------------------------------------------------------------


def _ndjson(stream: IO[bytes]) -> Iterator[Piece]:
    carry, line, first = b"", 1, True
    while True:
        block = stream.read(CHUNK_BYTES)
        if first:
            block, first = block.removeprefix(BOM), False
        if not block:
            break
        data = carry + block
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            carry = data
            continue
        chunk, carry = data[:cut], data[cut:]
        yield _ndjson_piece(chunk, line)
        line += chunk.count(b"\n")
    if carry.strip():
        yield _ndjson_piece(carry + b"\n", line)


class _Lines:
    """The non-blank lines of a chunk of NDJSON (ending in a newline): how many, their numbers
    and their text (found only when asked: most chunks have no blank line and no fault)."""

    def __init__(self, chunk: bytes, first_line: int) -> None:
        self.chunk, self.first = chunk, first_line
        self.count = chunk.count(b"\n")
        self._rows: NDArray[np.intp] | None = None
        self._bounds: tuple[NDArray[np.intp], NDArray[np.intp]] | None = None
        if _MAYBE_BLANK.search(chunk) or chunk[:1].isspace():
            self.count = int(self.rows.shape[0])

    @property
    def bounds(self) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        if self._bounds is None:
            ends = np.flatnonzero(np.frombuffer(self.chunk, dtype=np.uint8) == ord("\n"))
            starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.intp)
            self._bounds = starts, ends
        return self._bounds

    @property
    def rows(self) -> NDArray[np.intp]:
        """Which lines (from 0) are not blank."""
        if self._rows is None:
            starts, ends = self.bounds
            first = np.frombuffer(self.chunk, np.uint8)[np.minimum(starts, len(self.chunk) - 1)]
            maybe_blank = np.flatnonzero((ends == starts) | np.isin(first, list(b" \t\r")))
            keep = np.ones(ends.shape[0], dtype=np.bool_)
            for i in maybe_blank:
                keep[i] = bool(self.chunk[starts[i] : ends[i]].strip())
            self._rows = np.flatnonzero(keep)
        return self._rows

    def numbers(self, rows: NDArray[np.intp]) -> NDArray[np.int64]:
        return np.asarray(self.rows[rows] + self.first, dtype=np.int64)

    def text(self, row: int) -> bytes:
        starts, ends = self.bounds
        i = self.rows[row]
        return self.chunk[starts[i] : ends[i]]


def _ndjson_piece(chunk: bytes, first_line: int) -> Piece:
    lines = _Lines(chunk, first_line)
    table = _parse_json_lines(chunk)
    if table is None or table.num_rows != lines.count:
        piece = Piece()
        for row in range(lines.count):
            number = int(lines.numbers(np.array([row]))[0])
            try:
                piece.items.append((number, loads(lines.text(row))))
            except orjson.JSONDecodeError as exc:
                piece.faults.append(LineFault(number, f"not valid JSON: {exc.msg}"))
        return piece
    return Piece(table, lines.numbers, lambda row: loads(lines.text(row)))


def _parse_json_lines(chunk: bytes) -> pa.Table | None:
    """The lines as one table, or None where pyarrow would not read them as the per-event
    parser does."""
    if _read_otherwise(chunk) or not _utf8(chunk):
        return None
    for schema in _SCHEMAS:
        options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
        try:
            return pa_json.read_json(io.BytesIO(chunk), parse_options=options)
        except (pa.ArrowInvalid, UnicodeDecodeError):
            continue
    return None


def _read_otherwise(chunk: bytes) -> bool:
    """Whether the text holds an explicit null for a field where null is not "absent", or an
    escaped surrogate (searched for only where the plain words occur: most text has neither)."""
    if b"\\u" in chunk and _SURROGATE.search(chunk):
        return True
    at = chunk.find(b"null")
    while at != -1:
        if _NULL_FIELD.search(chunk, max(0, at - 32), at):
            return True
        at = chunk.find(b"null", at + 4)
    return False


def _utf8(chunk: bytes) -> bool:
    """Whether the text is valid UTF-8 (pyarrow's JSON parser does not check)."""
    if chunk.isascii():
        return True
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# ---- JSON arrays ----------------------------------------------------------------------------


def _json_array(stream: IO[bytes]) -> Iterator[Piece]:
    """A JSON array is one document: parsed whole, then screened in pieces (its events are
    numbered by their position in the array)."""
    text = stream.read().removeprefix(BOM)
    try:
        items = loads(text)
    except orjson.JSONDecodeError as exc:
        yield Piece(faults=[LineFault(exc.lineno, f"not valid JSON: {exc.msg}")])
        return
    if not isinstance(items, list):
        items = [items]
    for start in range(0, len(items), JSON_ITEMS):
        part = items[start : start + JSON_ITEMS]
        chunk = b"".join(orjson.dumps(item) + b"\n" for item in part)
        table = _parse_json_lines(chunk)
        if table is None or table.num_rows != len(part):
            yield Piece(items=[(start + i + 1, item) for i, item in enumerate(part)])
            continue
        yield Piece(table, _numbered_after(start), part.__getitem__)


# ---- CSV ------------------------------------------------------------------------------------


def _csv(stream: IO[bytes]) -> Iterator[Piece]:
    """CSV with a header; every cell read as text, empty cells absent; numbers in `value`,
    `cost` and `timestamp` and JSON in `properties` converted as the per-event path does."""
    head = stream.peek(1 << 16)  # type: ignore[attr-defined]
    header = next(csv.reader(io.StringIO(head.removeprefix(BOM).decode("utf-8", "replace"))), [])
    names = [name for name in header if name]
    convert = pa_csv.ConvertOptions(
        column_types={name: pa.string() for name in names},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    reader = pa_csv.open_csv(
        stream,
        read_options=pa_csv.ReadOptions(block_size=CHUNK_BYTES // 4),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=convert,
    )
    done = 0
    for batch in reader:
        raw = pa.Table.from_batches([batch])
        yield _csv_piece(raw, done)
        done += raw.num_rows


def _csv_piece(raw: pa.Table, done: int) -> Piece:
    columns: dict[str, pa.Array] = {}
    for name in raw.column_names:
        text = raw.column(name).combine_chunks()
        columns[name] = pa.compute.if_else(pa.compute.equal(text, ""), None, text)
    odd = np.zeros(raw.num_rows, dtype=np.bool_)
    for name in CSV_NUMBERS:
        if name in columns:
            columns[name], bad = _numbers(columns[name])
            odd |= bad
    if "timestamp" in columns:
        text = columns["timestamp"]
        numeric = pa.compute.fill_null(pa.compute.match_substring_regex(text, _NUMBER), False)
        columns["timestamp"] = pa.compute.if_else(numeric, None, text)
        columns["timestamp_number"] = pa.compute.if_else(numeric, text, None).cast(pa.float64())
    if "properties" in columns:
        columns["properties"], bad = _json_objects(columns["properties"])
        odd |= bad
    table = pa.table(columns)
    if odd.any():
        table = table.append_column("unread", pa.array(odd))
    return Piece(
        table,
        _numbered_after(done + 1),  # after the header line
        lambda row: csv_item(raw.slice(row, 1).to_pylist()[0]),
    )


class CsvFault(ValueError):
    """A CSV cell the per-event path cannot convert (a number or JSON that does not parse)."""


def csv_item(row: dict[str, Any]) -> dict[str, Any]:
    """A CSV row as the event it spells: empty cells absent, numbers and JSON converted."""
    item: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
    try:
        for key in CSV_NUMBERS:
            if key in item:
                item[key] = float(item[key])
        stamp = item.get("timestamp")
        if isinstance(stamp, str) and _is_number(stamp):
            item["timestamp"] = float(stamp)
        if "properties" in item:
            item["properties"] = orjson.loads(item["properties"])
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise CsvFault(str(exc)) from None
    return item


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _numbers(text: pa.Array) -> tuple[pa.Array, NDArray[np.bool_]]:
    """Text as float64; cells that are not plainly numbers become null and are flagged."""
    plain = pa.compute.fill_null(pa.compute.match_substring_regex(text, _NUMBER), True)
    flagged = ~np.asarray(plain.to_numpy(zero_copy_only=False), dtype=np.bool_)
    return pa.compute.if_else(plain, text, None).cast(pa.float64()), flagged


def _json_objects(text: pa.Array) -> tuple[pa.Array, NDArray[np.bool_]]:
    """JSON text cells as one struct array; if pyarrow cannot read them as the per-event
    parser does, every row with a cell is flagged."""
    given = np.asarray(pa.compute.is_valid(text).to_numpy(zero_copy_only=False), dtype=np.bool_)
    values = [v for v in text.to_pylist() if v is not None]
    if not values:
        return pa.nulls(len(text), pa.struct([])), np.zeros(len(text), dtype=np.bool_)
    chunk = "\n".join(values).encode() + b"\n"
    parsed = None
    if all(v.lstrip().startswith("{") and "\n" not in v for v in values):
        parsed = _parse_json_lines(chunk)
    if parsed is None or parsed.num_rows != len(values) or parsed.num_columns == 0:
        return pa.nulls(len(text), pa.struct([])), given
    objects = pa.StructArray.from_arrays(
        [column.combine_chunks() for column in parsed.columns], names=parsed.column_names
    )
    positions = np.cumsum(given) - 1
    spread = objects.take(pa.array(np.where(given, positions, 0)))
    return pa.compute.if_else(pa.array(given), spread, None), np.zeros(len(text), np.bool_)


# ---- Parquet --------------------------------------------------------------------------------


def _parquet(stream: IO[bytes]) -> Iterator[Piece]:
    source: Any = stream if stream.seekable() else io.BytesIO(stream.read())
    file = pq.ParquetFile(source)
    done = 0
    for batch in file.iter_batches(batch_size=PARQUET_ROWS):
        table = pa.Table.from_batches([batch])
        yield Piece(table, _numbered_after(done), _parquet_rows(table))
        done += table.num_rows


def _parquet_rows(table: pa.Table) -> Callable[[int], Any]:
    return lambda row: parquet_item(table.slice(row, 1).to_pylist()[0])


def parquet_item(row: dict[str, Any]) -> dict[str, Any]:
    """A Parquet row as the event it spells: nulls absent (a column cannot leave a value out),
    times with a zone as RFC 3339 text."""
    item = {k: v for k, v in row.items() if v is not None}
    stamp = item.get("timestamp")
    if isinstance(stamp, datetime):
        item["timestamp"] = stamp.isoformat()
    return item
