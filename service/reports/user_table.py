"""Per-user rows as a table: one row per (user, mechanic), one column per figure.

The nested row the API serves (`service.reports.model.UserRow`) is flattened with dotted
column names (`markers.night_share`, `fit.choice.alpha`); an interval `[low, high]` becomes two
columns (`alpha_ci.low`, `alpha_ci.high`); `raised_by` stays a list in NDJSON and Parquet and is
joined with `;` in CSV. Written as NDJSON (the nested rows), CSV or Parquet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

FORMATS = ("ndjson", "csv", "parquet")
CSV_LIST_SEPARATOR = ";"


def flat_row(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The row with nested mappings as dotted columns and intervals as `.low`/`.high`."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flat_row(value, f"{name}."))
        elif key.endswith("_ci") and isinstance(value, list):
            low, high = [*value, None, None][:2]
            out[f"{name}.low"], out[f"{name}.high"] = low, high
        else:
            out[name] = value
    return out


def format_of(path: Path) -> str:
    """The table format a file name asks for, by its extension."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("ndjson", "jsonl"):
        return "ndjson"
    if suffix in FORMATS:
        return suffix
    raise ValueError(f"{path}: per-user rows are written as .ndjson, .csv or .parquet")


def to_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer: csv.DictWriter[str] | None = None
    for row in rows:
        flat = flat_row(row)
        if writer is None:
            writer = csv.DictWriter(buffer, fieldnames=list(flat), lineterminator="\n")
            writer.writeheader()
        writer.writerow({k: _csv_cell(v) for k, v in flat.items()})
    return buffer.getvalue()


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        return _inert(CSV_LIST_SEPARATOR.join(str(v) for v in value))
    if isinstance(value, str):
        return _inert(value)
    return value


# a text cell starting with one of these is read as a formula by spreadsheets
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(text: str) -> str:
    """A text cell a spreadsheet shows as text: a leading single quote when it would start a
    formula (user ids and mechanic names come from the events; numbers are not text cells)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_ndjson(rows: Iterable[Mapping[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(row) + b"\n" for row in rows)


def to_parquet(rows: Iterable[Mapping[str, Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    flat = [flat_row(row) for row in rows]
    table = pa.Table.from_pylist(flat)
    # a figure null for every user has no type of its own: it is a number
    for index, column in enumerate(table.schema):
        if pa.types.is_null(column.type):
            table = table.set_column(index, column.name, table.column(index).cast(pa.float64()))
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    data: bytes = sink.getvalue().to_pybytes()
    return data


def write_rows(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Write the rows to `path` in the format its extension names."""
    kind = format_of(path)
    if kind == "csv":
        path.write_text(to_csv(rows), encoding="utf-8")
    elif kind == "parquet":
        path.write_bytes(to_parquet(rows))
    else:
        path.write_bytes(to_ndjson(rows))
