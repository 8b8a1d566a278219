"""Export files: history as the vendors (and the native format) write it, read record by record
in the shape each vendor's HTTP adapter takes, so that one adapter reads both.

Containers: JSON lines, gzip or not (Mixpanel's raw export, Segment/RudderStack object-storage
files, PostHog's JSON lines batch export, native NDJSON); a zip of gzipped JSON lines
(Amplitude's Export API); Parquet (PostHog's batch export). Native JSON arrays and CSV are
read whole (a bad CSV row rejected on its own). A line that is not JSON is a record of its own,
rejected with its file and line; the others go on.
"""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

import orjson

from service.ingestion.events import Rejection
from service.ingestion.payloads import GZIP_MAGIC, loads
from service.vendors.adapters import amplitude, mixpanel, posthog, segment
from service.vendors.adapters.common import Translated

# What an export record becomes: the vendor's adapter reads it as its HTTP route would.
TRANSLATORS: dict[str, Callable[[Any], Translated]] = {
    "amplitude": amplitude.exported,
    "mixpanel": mixpanel.exported,
    "segment": segment.archived,
    "rudderstack": segment.archived,  # the adapter tells the two apart by the message
    "posthog": posthog.exported,
}
FORMATS = ("native", *TRANSLATORS)
PARQUET_ROWS = 10_000  # rows per Parquet record batch: bounded memory on large exports


class UnknownFormat(ValueError):
    """A file whose format cannot be told from its name or its first record."""


@dataclass(frozen=True, slots=True)
class Record:
    """One record of an export file: where it is, and the JSON value read there, or the
    rejection of a line that could not be read."""

    file: str
    line: int
    item: Any

    @property
    def unreadable(self) -> bool:
        return isinstance(self.item, Rejection)


def read_records(path: Path) -> Iterator[Record]:
    """Every record of `path`, in order; an unreadable line is a `Rejection` record."""
    if path.suffix.lower() == ".parquet":
        yield from _parquet_records(path)
    elif zipfile.is_zipfile(path):
        yield from _zip_records(path)
    elif _base_name(path).endswith(".csv") or _first_byte(path) == b"[":
        yield from _native_records(path)
    else:
        with _opened(path) as stream:
            yield from _lines(str(path), stream)


def detect(path: Path, first: Record | None) -> str:
    """The format of a file, told by its container, else by its first record's fields."""
    if path.suffix.lower() == ".parquet":
        return "posthog"
    if zipfile.is_zipfile(path):
        return "amplitude"
    item = first.item if first is not None else None
    if isinstance(item, dict):
        properties = item.get("properties")
        if "mechanic" in item and "kind" in item:
            return "native"
        if "event_type" in item:
            return "amplitude"
        if "type" in item and ({"userId", "anonymousId", "messageId"} & item.keys()):
            return "segment"
        if "uuid" in item and "distinct_id" in item:
            return "posthog"
        if "event" in item and isinstance(properties, dict) and "time" in properties:
            return "mixpanel"
    raise UnknownFormat(f"{path}: cannot tell the export's format; name it with --format")


def translate(fmt: str, item: Any) -> Translated:
    """A vendor export record as its adapter reads it: a vendor event or a rejection."""
    return TRANSLATORS[fmt](item)


def _base_name(path: Path) -> str:
    name = path.name.lower()
    return name[:-3] if name.endswith(".gz") else name


def _opened(path: Path) -> IO[bytes]:
    with path.open("rb") as probe:
        magic = probe.read(2)
    return cast(IO[bytes], gzip.open(path, "rb") if magic == GZIP_MAGIC else path.open("rb"))


def _first_byte(path: Path) -> bytes:
    with _opened(path) as stream:
        while chunk := stream.read(4096):
            stripped = chunk.lstrip().removeprefix(b"\xef\xbb\xbf").lstrip()
            if stripped:
                return stripped[:1]
    return b""


def _lines(name: str, stream: Iterable[bytes]) -> Iterator[Record]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield Record(name, number, loads(line))
        except (orjson.JSONDecodeError, UnicodeDecodeError) as exc:
            yield Record(name, number, Rejection("", f"not valid JSON: {exc}"))


def _zip_records(path: Path) -> Iterator[Record]:
    with zipfile.ZipFile(path) as archive:
        for member in sorted(archive.namelist()):
            if member.endswith("/"):
                continue
            name = f"{path}!{member}"
            with archive.open(member) as raw:
                magic = raw.read(2)
            with archive.open(member) as raw:
                stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw) if magic == GZIP_MAGIC else raw)
                try:
                    yield from _lines(name, stream)
                except (OSError, EOFError) as exc:
                    yield Record(name, 0, Rejection("", f"cannot read: {exc}"))


def _parquet_records(path: Path) -> Iterator[Record]:
    import pyarrow.parquet as pq

    row = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=PARQUET_ROWS):
        for item in batch.to_pylist():
            row += 1
            yield Record(str(path), row, {k: _json_value(v) for k, v in item.items()})


def _json_value(value: Any) -> Any:
    """A Parquet cell as JSON would hold it: instants as RFC 3339 text (UTC when unzoned)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return value


def _native_records(path: Path) -> Iterator[Record]:
    """A native JSON array (each element a record, numbered by its position) or CSV file (a
    header row; empty cells are fields not sent; `value`, `cost` and epoch `timestamp` cells
    are numbers, `properties` JSON text). A row that cannot be read is rejected on its own."""
    name = str(path)
    try:
        with _opened(path) as stream:
            text = stream.read().decode("utf-8-sig")
    except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
        yield Record(name, 0, Rejection("", f"cannot read: {exc}"))
        return
    if not _base_name(path).endswith(".csv"):
        try:
            items = loads(text.lstrip())
        except orjson.JSONDecodeError as exc:
            yield Record(name, exc.lineno, Rejection("", f"not valid JSON: {exc.msg}"))
            return
        for position, item in enumerate(items if isinstance(items, list) else [items], 1):
            yield Record(name, position, item)
        return
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        yield Record(name, reader.line_num, _csv_item(row))


def _csv_item(row: dict[str | Any, str | Any]) -> dict[str, Any] | Rejection:
    item: dict[str, Any] = {k: v for k, v in row.items() if isinstance(k, str) and k and v}
    for key in ("value", "cost", "timestamp"):
        if isinstance(item.get(key), str):
            try:
                item[key] = float(item[key])
            except ValueError:
                if key != "timestamp":  # a timestamp may be RFC 3339 text
                    return Rejection(key, f"not a number: {item[key][:40]!r}")
    if "properties" in item:
        try:
            item["properties"] = orjson.loads(item["properties"])
        except orjson.JSONDecodeError as exc:
            return Rejection("properties", f"not valid JSON: {exc.msg}")
    return item
