"""Mixpanel ingestion: `/track` and `/import`.

`/track`: events (one, or an array) as the official libraries send them, form-encoded
`data=<JSON or base64 JSON>` (also a JSON body, or `GET ?data=`); the key is `token` in each
event's properties. Answers: with `verbose=1` (what the libraries send) `{"status": 1,
"error": null}` or `{"status": 0, "error": …}`; without it `1` or `0`. A batch with an
unusable event is refused whole (400), as `/track` does.

`/import`: a JSON array, NDJSON, or the libraries' form body; gzip allowed. Key: HTTP Basic
with the project key as user (empty password), or `token` in the events' properties. Every
event needs `time`; `$insert_id` deduplicates (a digest of the event when absent). Partial
success as Mixpanel answers it: 200 `{"code": 200, "num_records_imported", "status": 1}`, or
400 `{"code": 400, "error", "failed_records": [{"index", "insert_id", "field", "message"}],
"num_records_imported", "status": "Bad Request"}` with the good events stored. Refusals:
401 `{"code": 401, "error": "Invalid credentials", "status": "Unauthorized"}`, 413, 429 with
`Retry-After`.

Time (`properties.time`) is epoch seconds or milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from starlette.responses import Response

from service.api.responses import json_answer
from service.errors import AppError, MalformedBody
from service.ingestion.events import EPOCH, Rejection
from service.ingestion.ingest import IngestResult
from service.ingestion.payloads import parse_batch
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
    text,
    text_answer,
    vendor_event,
    zone,
)

SOURCE = "mixpanel"


def verbose(query: Mapping[str, str], form: Mapping[str, str] | None = None) -> bool:
    flag = (form or {}).get("verbose", query.get("verbose", ""))
    return flag.strip() in ("1", "true")


def parse_track(
    body: bytes, *, content_type: str | None, query: Mapping[str, str], received: datetime
) -> tuple[Parsed, bool]:
    """A `/track` request, and whether it asked for verbose answers."""
    form: dict[str, str] | None = None
    if is_form(content_type):
        form = form_fields(body)
        data = form.get("data")
        if data is None:
            raise MalformedBody("the form body has no `data` field")
        document = json_or_base64(data)
    elif not body.strip() and "data" in query:
        document = json_or_base64(query["data"])
    else:
        document = json_document(body)
    events = document if isinstance(document, list) else [document]
    parsed = _parsed(events, header_key=None, received=received, time_required=False)
    return parsed, verbose(query, form)


def parse_import(
    body: bytes, *, content_type: str | None, header_key: str | None, received: datetime
) -> Parsed:
    if is_form(content_type):
        data = form_fields(body).get("data")
        if data is None:
            raise MalformedBody("the form body has no `data` field")
        document = json_or_base64(data)
        events = document if isinstance(document, list) else [document]
    else:
        events = parse_batch(body)
    return _parsed(events, header_key=header_key, received=received, time_required=True)


def _parsed(
    events: list[Any], *, header_key: str | None, received: datetime, time_required: bool
) -> Parsed:
    if not events:
        raise MalformedBody("no events in the request")
    tokens = [
        e["properties"].get("token")
        for e in events
        if isinstance(e, dict) and isinstance(e.get("properties"), dict)
    ]
    return Parsed(
        keys=keys_of(header_key, *tokens),
        items=[_event(e, received, time_required) for e in events],
        ids=tuple(_insert_id(e) for e in events),
    )


def exported(event: Any) -> Translated:
    """An event of Mixpanel's raw export (one JSON object a line): the shape `/import` takes,
    so it is read as `/import` reads it, `properties.time` required."""
    return _event(event, EPOCH, time_required=True)


def _insert_id(event: Any) -> str | None:
    properties = event.get("properties") if isinstance(event, dict) else None
    return text(properties.get("$insert_id")) if isinstance(properties, dict) else None


def _event(event: Any, received: datetime, time_required: bool) -> Translated:
    if not isinstance(event, dict):
        return Rejection("", "an event must be a JSON object")
    raw_properties = event.get("properties")
    if not isinstance(raw_properties, dict):
        return Rejection("properties", "required field is missing")
    payload = scrub(event)
    properties, timezone = reading(payload)
    stamp = raw_properties.get("time")
    if stamp is None:
        if time_required:
            return Rejection(
                "properties.time", "'properties.time' is required: seconds since epoch"
            )
        ts = received
    elif isinstance(stamp, bool) or not isinstance(stamp, int | float):
        return Rejection("properties.time", "must be specified as seconds since epoch")
    else:
        try:
            ts = instant(stamp)
        except ValueError as exc:
            return Rejection("properties.time", str(exc))
    user = raw_properties.get("distinct_id")
    if user is None or user == "":
        user = raw_properties.get("$user_id") or raw_properties.get("$device_id")
    return vendor_event(
        source=SOURCE,
        message_id=message_id(SOURCE, raw_properties.get("$insert_id"), payload),
        event_name=event.get("event"),
        user_id=user,
        ts=ts,
        properties=properties,
        payload=payload,
        timezone=timezone,
        name_field="event",
        user_field="properties.distinct_id",
    )


def reading(payload: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    found = payload.get("properties")
    properties = dict(found) if isinstance(found, dict) else {}
    return properties, zone(properties.get("$timezone")) or zone(properties.get("timezone"))


# --- /track answers --------------------------------------------------------------------------


def track_accepted(_result: IngestResult, *, verbose: bool) -> Response:
    if verbose:
        return json_answer(200, {"status": 1, "error": None})
    return text_answer(200, "1")


def track_invalid(items: list[Translated], *, verbose: bool) -> Response:
    index, first = next((i, item) for i, item in enumerate(items) if isinstance(item, Rejection))
    return _track_failure(400, f"event {index}: {first.field}: {first.reason}", verbose=verbose)


def track_refused(exc: AppError, *, verbose: bool) -> Response:
    status = {
        "malformed": 400,
        "unauthorized": 401,
        "forbidden": 403,
        "too_large": 413,
        "rate_limited": 429,
    }.get(refusal(exc), exc.status_code)
    return _track_failure(status, str(exc.detail), verbose=verbose, headers=retry_headers(exc))


def _track_failure(
    status: int, error: str, *, verbose: bool, headers: dict[str, str] | None = None
) -> Response:
    if verbose:
        return json_answer(status, {"status": 0, "error": error}, headers)
    return text_answer(status, "0", headers)


# --- /import answers -------------------------------------------------------------------------


def import_answer(result: IngestResult, insert_ids: tuple[str | None, ...]) -> Response:
    imported = result.count("accepted") + result.count("duplicate")
    failed = [
        {
            "index": r.index,
            "insert_id": insert_ids[r.index] if r.index < len(insert_ids) else None,
            "field": r.field,
            "message": r.reason,
        }
        for r in result.results
        if r.status == "rejected"
    ]
    if not failed:
        return json_answer(
            200, {"code": 200, "error": None, "num_records_imported": imported, "status": 1}
        )
    return json_answer(
        400,
        {
            "code": 400,
            "error": "some data points in the request failed validation",
            "failed_records": failed,
            "num_records_imported": imported,
            "status": "Bad Request",
        },
    )


_IMPORT_REFUSALS = {
    "malformed": (400, "Bad Request"),
    "unauthorized": (401, "Unauthorized"),
    "forbidden": (403, "Forbidden"),
    "too_large": (413, "Request Entity Too Large"),
    "rate_limited": (429, "Too Many Requests"),
}


def import_refused(exc: AppError) -> Response:
    kind = refusal(exc)
    status, status_text = _IMPORT_REFUSALS.get(kind, (exc.status_code, "Error"))
    error = "Invalid credentials" if kind == "unauthorized" else str(exc.detail)
    body: dict[str, Any] = {"code": status, "error": error, "status": status_text}
    if kind == "malformed":
        body["num_records_imported"] = 0
    return json_answer(status, body, retry_headers(exc))
