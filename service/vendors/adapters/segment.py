"""Segment and RudderStack HTTP Tracking API: `POST /v1/batch`, `/v1/track`, `/v1/identify`,
`/v1/page`, `/v1/screen`, `/v1/group`, `/v1/alias`.

Key: the write key as HTTP Basic user (empty password), or `writeKey` in the body. Dedup:
`messageId`. Time: the device clock is corrected by the send time, as Segment does:
timestamp = receivedAt − (sentAt − timestamp). Answers: 200 `{"success": true}`; refusals
`{"success": false, "code": …, "message": …}` (the `code` and `message` the official
libraries read), with RudderStack's statuses and wording: 400 "Invalid JSON", 401 "Invalid
Write Key", 413 "Request size exceeds max limit", 429 "Max Requests Limit reached" with
`Retry-After`. Malformed messages inside a well-formed batch are dropped, the batch answered
200, as both services do.
"""

from __future__ import annotations

from datetime import datetime
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
    shifted,
    vendor_event,
    zone,
)

SOURCE = "segment"
MESSAGE_TYPES = ("track", "identify", "page", "screen", "group", "alias")
# Rewritten by a library on every send attempt, so not part of an event's identity.
VOLATILE = ("sentAt", "receivedAt")


def parse(
    body: bytes, *, message_type: str | None, header_key: str | None, received: datetime
) -> Parsed:
    """A `/v1/batch` body (`message_type` None) or a single message of `message_type`."""
    document = json_document(body)
    if not isinstance(document, dict):
        raise MalformedBody("the body must be a JSON object")
    if message_type is None:
        messages = document.get("batch")
        if not isinstance(messages, list):
            raise MalformedBody("`batch` must be an array of messages")
        shared = document.get("context") if isinstance(document.get("context"), dict) else None
        sent_at = document.get("sentAt")
    else:
        messages, shared, sent_at = [document], None, None
    keys = keys_of(
        header_key,
        document.get("writeKey"),
        *(m.get("writeKey") for m in messages if isinstance(m, dict)),
    )
    items = [_message(m, message_type, shared, sent_at, received) for m in messages]
    return Parsed(keys=keys, items=items)


def archived(message: Any) -> Translated:
    """A message as Segment or RudderStack archive it (object-storage and warehouse files):
    its `timestamp` is already the corrected time (the device's is `originalTimestamp`), so
    no clock skew is removed a second time."""
    return _message(message, None, None, None, EPOCH, corrected=True)


def _message(
    message: Any,
    message_type: str | None,
    shared_context: dict[str, Any] | None,
    batch_sent_at: Any,
    received: datetime,
    *,
    corrected: bool = False,
) -> Translated:
    if not isinstance(message, dict):
        return Rejection("", "a message must be a JSON object")
    kind = message_type or message.get("type")
    if kind not in MESSAGE_TYPES:
        return Rejection("type", f"must be one of {', '.join(MESSAGE_TYPES)}")
    payload = scrub({**message, "type": kind})
    if shared_context:
        own = payload.get("context") if isinstance(payload.get("context"), dict) else {}
        payload["context"] = scrub({**shared_context, **own})
    try:
        if corrected:
            ts = instant(_required(message.get("timestamp"), "is missing"))
        else:
            ts = _timestamp(message, batch_sent_at, received)
    except ValueError as exc:
        return Rejection("timestamp", f"timestamp or sentAt {exc}")
    source = _source(payload)
    properties, timezone = reading(payload)
    return vendor_event(
        source=source,
        message_id=message_id(source, message.get("messageId"), payload, *VOLATILE),
        event_name=message.get("event") if kind == "track" else kind,
        user_id=_user(message),
        ts=ts,
        properties=properties,
        payload=payload,
        timezone=timezone,
        name_field="event",
        user_field="userId",
    )


def _required(value: Any, reason: str) -> Any:
    if value is None:
        raise ValueError(reason)
    return value


def _user(message: dict[str, Any]) -> Any:
    user = message.get("userId")
    if user is None or user == "":
        return message.get("anonymousId")
    return user


def _timestamp(message: dict[str, Any], batch_sent_at: Any, received: datetime) -> datetime:
    stamp = message.get("timestamp")
    if stamp is None:
        stamp = message.get("originalTimestamp")
    if stamp is None:
        return received
    device_time = instant(stamp)
    sent_at = message.get("sentAt", batch_sent_at)
    if sent_at is None:
        return device_time
    # The device's clock may be off; the offset between its event and its send is not.
    skew = shifted(instant(sent_at).__sub__, device_time)
    return shifted(received.__sub__, skew)


def _source(payload: dict[str, Any]) -> str:
    context = payload.get("context")
    library = context.get("library") if isinstance(context, dict) else None
    name = library.get("name") if isinstance(library, dict) else None
    return "rudderstack" if isinstance(name, str) and "rudder" in name.lower() else SOURCE


def reading(payload: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A stored message's properties (traits for identify and group) and its zone."""
    kind = payload.get("type")
    found = payload.get("traits") if kind in ("identify", "group") else payload.get("properties")
    properties = dict(found) if isinstance(found, dict) else {}
    if kind in ("page", "screen") and "name" not in properties and payload.get("name"):
        properties["name"] = payload["name"]
    context = payload.get("context")
    timezone = zone(context.get("timezone")) if isinstance(context, dict) else None
    return properties, timezone or zone(properties.get("timezone"))


def accepted(_result: IngestResult) -> Response:
    return json_answer(200, {"success": True})


_REFUSALS = {
    "malformed": (400, "invalid_request", "Invalid JSON"),
    "unauthorized": (401, "invalid_write_key", "Invalid Write Key"),
    "forbidden": (403, "forbidden", "Write key lacks the ingest scope"),
    "too_large": (413, "request_too_large", "Request size exceeds max limit"),
    "rate_limited": (429, "too_many_requests", "Max Requests Limit reached"),
}


def refused(exc: AppError) -> Response:
    status, code, message = _REFUSALS.get(
        refusal(exc), (exc.status_code, "error", "Request failed")
    )
    return json_answer(
        status,
        {"success": False, "code": code, "message": f"{message}: {exc.detail}"},
        retry_headers(exc),
    )
