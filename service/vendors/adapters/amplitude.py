"""Amplitude HTTP V2 API: `POST /2/httpapi` with `{"api_key": …, "events": […]}`.

Dedup: `insert_id`. Time: `time` in milliseconds since the epoch (the time of receipt when
absent). User: `user_id`, else `device_id`. Properties: `event_properties`, plus the
top-level revenue fields (`price`, `quantity`, `revenue`, …) where the properties lack them.

Answers in Amplitude's documented bodies: 200 `{"code": 200, "events_ingested",
"payload_size_bytes", "server_upload_time"}`; 400 `{"code": 400, "error", "missing_field",
"events_with_invalid_fields", "events_with_missing_fields"}` (an invalid event refuses the
whole request, nothing stored, so the library resends the others); 400 "Invalid API key: …"
for a bad key (the prefix the official library looks for); 413 "Payload too large"; 429
with `throttled_events` and `Retry-After`.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from starlette.responses import Response

from service.api.responses import json_answer
from service.errors import AppError, MalformedBody
from service.ingestion.events import EPOCH, Rejection
from service.ingestion.ingest import IngestResult
from service.vendors.adapters.common import (
    Parsed,
    Translated,
    instant,
    json_document,
    keys_of,
    message_id,
    refusal,
    retry_headers,
    scrub,
    vendor_event,
)

SOURCE = "amplitude"
REVENUE_FIELDS = ("price", "quantity", "revenue", "productId", "revenueType")


class MissingField(MalformedBody):
    """The request lacks `api_key` or `events`."""

    def __init__(self, field: str) -> None:
        super().__init__(f"request missing required field {field}")
        self.field = field


def parse(body: bytes, *, received: datetime) -> Parsed:
    document = json_document(body)
    if not isinstance(document, dict):
        raise MalformedBody("the body must be a JSON object")
    if not document.get("api_key"):
        raise MissingField("api_key")
    events = document.get("events")
    if not isinstance(events, list) or not events:
        raise MissingField("events")
    return Parsed(
        keys=keys_of(document.get("api_key")),
        items=[_event(event, received) for event in events],
    )


def exported(record: Any) -> Translated:
    """An event of the Export API (a zip of gzipped JSON lines): `event_time` (UTC, written
    "YYYY-MM-DD HH:MM:SS.ffffff") and `$insert_id` become the HTTP API's `time` (ms) and
    `insert_id`; the other fields keep their names, so it is read as `/2/httpapi` reads it."""
    if not isinstance(record, dict):
        return Rejection("event", "an event must be a JSON object")
    stamp = record.get("event_time")
    if stamp is None:
        return Rejection("event_time", "required field is missing")
    try:
        when = instant(stamp.replace(" ", "T") if isinstance(stamp, str) else stamp)
    except ValueError as exc:
        return Rejection("event_time", str(exc))
    event = {k: v for k, v in record.items() if k not in ("event_time", "$insert_id")}
    microseconds = (when - EPOCH) // timedelta(microseconds=1)
    whole, part = divmod(microseconds, 1000)
    event["time"] = whole if part == 0 else microseconds / 1000
    if record.get("$insert_id") is not None:
        event["insert_id"] = record["$insert_id"]
    return _event(event, EPOCH)


def _event(event: Any, received: datetime) -> Translated:
    if not isinstance(event, dict):
        return Rejection("event", "an event must be a JSON object")
    payload = scrub(event)
    stamp = event.get("time")
    if stamp is None:
        ts = received
    elif isinstance(stamp, bool) or not isinstance(stamp, int | float):
        return Rejection("time", "must be milliseconds since the epoch")
    else:
        try:
            ts = instant(stamp, unit="ms")
        except ValueError as exc:
            return Rejection("time", str(exc))
    user = event.get("user_id")
    if user is None or user == "":
        user = event.get("device_id")
    properties, timezone = reading(payload)
    return vendor_event(
        source=SOURCE,
        message_id=message_id(SOURCE, event.get("insert_id"), payload),
        event_name=event.get("event_type"),
        user_id=user,
        ts=ts,
        properties=properties,
        payload=payload,
        timezone=timezone,
        name_field="event_type",
        user_field="user_id",
    )


def reading(payload: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    found = payload.get("event_properties")
    properties = dict(found) if isinstance(found, dict) else {}
    for name in REVENUE_FIELDS:
        if name in payload and name not in properties:
            properties[name] = payload[name]
    return properties, None


def accepted(result: IngestResult, *, payload_size: int) -> Response:
    return json_answer(
        200,
        {
            "code": 200,
            "events_ingested": result.count("accepted") + result.count("duplicate"),
            "payload_size_bytes": payload_size,
            "server_upload_time": int(time.time() * 1000),
        },
    )


def invalid(items: list[Translated]) -> Response:
    missing: dict[str, list[int]] = {}
    wrong: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        if isinstance(item, Rejection):
            into = missing if item.reason == "required field is missing" else wrong
            into.setdefault(item.field or "event", []).append(index)
    return json_answer(
        400,
        {
            "code": 400,
            "error": "Request missing required field" if missing else "Invalid field values",
            "missing_field": None,
            "events_with_invalid_fields": wrong,
            "events_with_missing_fields": missing,
        },
    )


def refused(exc: AppError, *, events: int = 0) -> Response:
    kind = refusal(exc)
    if isinstance(exc, MissingField):
        return json_answer(
            400,
            {"code": 400, "error": "Request missing required field", "missing_field": exc.field},
        )
    if kind == "malformed":
        return json_answer(400, {"code": 400, "error": f"Invalid request body: {exc.detail}"})
    if kind in ("unauthorized", "forbidden"):
        return json_answer(400, {"code": 400, "error": f"Invalid API key: {exc.detail}"})
    if kind == "too_large":
        return json_answer(413, {"code": 413, "error": f"Payload too large: {exc.detail}"})
    if kind == "rate_limited":
        return json_answer(
            429,
            {
                "code": 429,
                "error": "Too many requests for some devices and users",
                "throttled_devices": {},
                "throttled_users": {},
                # All of them: the library holds throttled events back before resending.
                "throttled_events": list(range(events)),
                "exceeded_daily_quota_users": {},
                "exceeded_daily_quota_devices": {},
            },
            retry_headers(exc),
        )
    return json_answer(exc.status_code, {"code": exc.status_code, "error": str(exc.detail)})
