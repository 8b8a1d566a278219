"""PostHog capture: `/batch/`, `/capture/`, `/e/`, `/i/v0/e/` (with or without the slash).

Bodies: a JSON array of events; `{"api_key" | "token": …, "batch": […], "sent_at": …}`; or a
single event (its key at the top or in `properties.token`); also the browser library's form
body `data=<JSON or base64>`. Gzip is recognised by its magic bytes whatever the headers say.
Dedup: `uuid`. Time, as PostHog's pipeline computes it: with `timestamp` and `sent_at`,
received + (timestamp − sent_at) (the device's clock skew removed); `offset` (ms before
receipt) without a timestamp; else the time of receipt.

Answers as PostHog's capture service gives them: 200 `{"status": 1}`; refusals in plain
text, 400 for a body it cannot decode or an event without `event` or `distinct_id` (nothing
of the request is stored; any other unusable event is dropped alone), 401 for a missing,
invalid or inconsistent key, 413 when too large, 429 with `Retry-After` when rate limited.
"""

from __future__ import annotations

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
    form_fields,
    instant,
    is_form,
    json_document,
    json_or_base64,
    keys_of,
    message_id,
    refusal,
    retry_headers,
    scrub,
    shifted,
    text_answer,
    vendor_event,
    zone,
)

SOURCE = "posthog"
VOLATILE = ("sent_at",)


def parse(body: bytes, *, content_type: str | None, received: datetime) -> Parsed:
    if is_form(content_type):
        data = form_fields(body).get("data")
        if data is None:
            raise MalformedBody("the form body has no `data` field")
        document = json_or_base64(data)
    else:
        document = json_document(body)
    top: dict[str, Any] = {}
    if isinstance(document, list):
        events = document
    elif isinstance(document, dict) and "batch" in document:
        events = document["batch"]
        top = document
        if not isinstance(events, list):
            raise MalformedBody("`batch` must be an array of events")
    elif isinstance(document, dict):
        events, top = [document], document
    else:
        raise MalformedBody("the body must be an event, an array of events or a batch")
    if not events:
        raise MalformedBody("request holds no event")
    per_event: list[Any] = []
    for event in events:
        if isinstance(event, dict):
            properties = event.get("properties")
            per_event += [event.get("api_key"), event.get("token")]
            if isinstance(properties, dict):
                per_event += [properties.get("token"), properties.get("$token")]
    keys = keys_of(top.get("api_key"), top.get("token"), *per_event)
    sent_at = top.get("sent_at")
    return Parsed(keys=keys, items=[_event(e, sent_at, received) for e in events])


def exported(record: Any) -> Translated:
    """A row of a PostHog batch export (Parquet or JSON lines: `uuid`, `event`, `distinct_id`,
    `timestamp`, `properties`, …): a captured event whose `timestamp` is already final. In
    Parquet `properties` is JSON text."""
    if not isinstance(record, dict):
        return Rejection("", "an event must be a JSON object")
    if record.get("timestamp") is None:
        return Rejection("timestamp", "required field is missing")
    properties = record.get("properties")
    if isinstance(properties, str):
        try:
            properties = json_document(properties.encode())
        except MalformedBody:
            return Rejection("properties", "is not valid JSON")
        record = {**record, "properties": properties}
    return _event({k: v for k, v in record.items() if k not in VOLATILE}, None, EPOCH)


def _event(event: Any, batch_sent_at: Any, received: datetime) -> Translated:
    if not isinstance(event, dict):
        return Rejection("", "an event must be a JSON object")
    payload = scrub(event)
    properties, timezone = reading(payload)
    try:
        ts = _timestamp(event, properties, batch_sent_at, received)
    except ValueError as exc:
        return Rejection("timestamp", f"timestamp, offset or sent_at {exc}")
    user = event.get("distinct_id")
    if user is None or user == "":
        user = properties.get("distinct_id") or properties.get("$distinct_id")
    return vendor_event(
        source=SOURCE,
        message_id=message_id(SOURCE, event.get("uuid"), payload, *VOLATILE),
        event_name=event.get("event"),
        user_id=user,
        ts=ts,
        properties=properties,
        payload=payload,
        timezone=timezone,
        name_field="event",
        user_field="distinct_id",
    )


def _timestamp(
    event: dict[str, Any], properties: dict[str, Any], batch_sent_at: Any, received: datetime
) -> datetime:
    stamp = event.get("timestamp")
    sent_at = event.get("sent_at", batch_sent_at)
    if stamp is not None:
        device_time = instant(stamp)
        if sent_at is None or properties.get("$ignore_sent_at") is True:
            return device_time
        skew = shifted(device_time.__sub__, instant(sent_at))
        return shifted(received.__add__, skew)
    offset = event.get("offset")
    if offset is not None:
        if isinstance(offset, bool) or not isinstance(offset, int | float):
            raise ValueError("offset must be a number of milliseconds")
        return shifted(lambda: received - timedelta(milliseconds=offset))
    return received


def reading(payload: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    found = payload.get("properties")
    properties = dict(found) if isinstance(found, dict) else {}
    return properties, zone(properties.get("$timezone")) or zone(properties.get("timezone"))


def accepted(_result: IngestResult) -> Response:
    return json_answer(200, {"status": 1})


def invalid(items: list[Translated]) -> Response | None:
    """The whole request refused for an event without `distinct_id` or event name, as
    PostHog's capture does; None for any other unusable event (a bad timestamp, text that is
    not UTF-8, a non-finite number), which is dropped alone while the rest is stored."""
    for item in items:
        if not isinstance(item, Rejection) or not _refuses_request(item):
            continue
        if item.field == "distinct_id":
            return text_answer(400, "event submitted without a distinct_id")
        return text_answer(400, "event submitted with an empty event name")
    return None


def _refuses_request(rejection: Rejection) -> bool:
    missing = rejection.reason == "required field is missing"
    too_long = rejection.reason.startswith("longer than")
    return rejection.field in ("distinct_id", "event") and (missing or too_long)


def refused(exc: AppError) -> Response:
    kind = refusal(exc)
    if kind == "malformed":
        return text_answer(400, f"failed to decode request: {exc.detail}")
    if kind in ("unauthorized", "forbidden"):
        return text_answer(401, f"API key is not valid: {exc.detail}")
    if kind == "too_large":
        return text_answer(413, f"maximum event size exceeded: {exc.detail}")
    if kind == "rate_limited":
        return text_answer(429, "rate limited", retry_headers(exc))
    return text_answer(exc.status_code, str(exc.detail))
