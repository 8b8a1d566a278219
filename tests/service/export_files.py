"""Native events written as each vendor's export files would hold them, named as a product
names its events (`tests.service.test_adapter_equivalence.as_vendor`)."""

from __future__ import annotations

import gzip
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from tests.service.test_adapter_equivalence import as_vendor


def _lines(records: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


def amplitude_records(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Export API records: `event_time` UTC text, `$insert_id`, the event's fields by name."""
    out = []
    for number, event in enumerate(events):
        name, properties, ms = as_vendor(event)
        when = datetime.fromtimestamp(ms / 1000, UTC)
        out.append(
            {"$insert_id": event["message_id"], "amplitude_id": 1000 + number,
             "app": 123456, "device_id": f"device-{event['user_id']}",
             "event_id": number, "event_properties": properties, "event_type": name,
             "event_time": when.strftime("%Y-%m-%d %H:%M:%S.%f"),
             "client_event_time": when.strftime("%Y-%m-%d %H:%M:%S.%f"),
             "server_upload_time": "2026-06-01 00:00:00.000000", "user_id": event["user_id"],
             "user_properties": {}, "uuid": f"00000000-0000-4000-8000-{number:012d}",
             "platform": "iOS"}
        )  # fmt: skip
    return out


def write_amplitude(path: Path, events: list[dict[str, Any]], members: int = 3) -> Path:
    """A zip of gzipped JSON lines, one member per hour as the Export API names them."""
    records = amplitude_records(events)
    step = -(-len(records) // members)
    with zipfile.ZipFile(path, "w") as archive:
        for part in range(members):
            chunk = records[part * step : (part + 1) * step]
            name = f"123456/123456_2026-05-01_{part}#0.json.gz"
            archive.writestr(name, gzip.compress(_lines(chunk)))
    return path


def mixpanel_records(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Raw export lines. Mixpanel writes `time` in seconds; milliseconds here keep the
    product's millisecond instants (the adapter reads both, as `/import` does)."""
    out = []
    for event in events:
        name, properties, ms = as_vendor(event)
        out.append(
            {"event": name, "properties": {**properties, "time": ms,
             "distinct_id": event["user_id"], "$insert_id": event["message_id"],
             "mp_processing_time_ms": 1780000000000, "$mp_api_endpoint": "api.example"}}
        )  # fmt: skip
    return out


def write_mixpanel(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_bytes(_lines(mixpanel_records(events)))
    return path


def posthog_records(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the batch export's events model; `properties` as JSON text (Parquet's form)."""
    out = []
    for event in events:
        name, properties, ms = as_vendor(event)
        out.append(
            {"uuid": event["message_id"], "event": name, "distinct_id": event["user_id"],
             "person_id": f"person-{event['user_id']}",
             "timestamp": datetime.fromtimestamp(ms / 1000, UTC),
             "properties": orjson.dumps(properties).decode(), "person_properties": "{}",
             "team_id": 1, "elements_chain": "",
             "created_at": datetime(2026, 6, 1, tzinfo=UTC)}
        )  # fmt: skip
    return out


POSTHOG_SCHEMA = pa.schema(
    [
        ("uuid", pa.string()),
        ("event", pa.string()),
        ("distinct_id", pa.string()),
        ("person_id", pa.string()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("properties", pa.string()),
        ("person_properties", pa.string()),
        ("team_id", pa.int64()),
        ("elements_chain", pa.string()),
        ("created_at", pa.timestamp("us", tz="UTC")),
    ]
)


def write_posthog(path: Path, events: list[dict[str, Any]], row_group: int = 100) -> Path:
    table = pa.Table.from_pylist(posthog_records(events), schema=POSTHOG_SCHEMA)
    pq.write_table(table, path, row_group_size=row_group)
    return path


def segment_records(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages as Segment archives them: `timestamp` already corrected, the device's clock
    in `originalTimestamp`, a `sentAt` a few seconds later."""
    out = []
    for event in events:
        name, properties, ms = as_vendor(event)
        when = datetime.fromtimestamp(ms / 1000, UTC).isoformat()
        out.append(
            {"type": "track", "event": name, "userId": event["user_id"],
             "properties": properties, "messageId": event["message_id"], "timestamp": when,
             "originalTimestamp": "2020-01-01T00:00:00Z", "sentAt": "2020-01-01T00:00:05Z",
             "receivedAt": when, "context": {"library": {"name": "analytics-python"}}}
        )  # fmt: skip
    return out


def write_segment(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_bytes(gzip.compress(_lines(segment_records(events))))
    return path


def write_native(path: Path, events: list[dict[str, Any]]) -> Path:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as out:
        out.write(_lines(events))
    path.write_bytes(buffer.getvalue())
    return path
