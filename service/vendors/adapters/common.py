"""What the vendor adapters share: the vendor event, credentials scrubbing, instants, ids.

An adapter turns a vendor's request into `VendorEvent`s (or per-item `Rejection`s) and the
shared result back into the vendor's answer; it never touches the database. Mapping a vendor
event to a native event (`service.vendors.mapping_rules`) and storing both
(`service.ingestion.ingest`) are shared.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from starlette.responses import Response

from service.errors import (
    AppError,
    BadRequest,
    Forbidden,
    MalformedBody,
    PayloadTooLarge,
    Unauthorized,
)
from service.ingestion.events import (
    EPOCH,
    MAX_DEPTH,
    MILLISECONDS_ABOVE,
    TOO_DEEP_VALUE,
    Rejection,
    unstorable,
)
from service.ingestion.payloads import loads
from service.ingestion.ratelimit import RateLimited

# Keys that carry a project key in some vendor's format. The key is a credential: it is never
# stored (keys are kept only as digests), so it is removed from every stored payload.
CREDENTIAL_KEYS = frozenset(
    {"token", "$token", "api_key", "apiKey", "writeKey", "write_key", "api_secret"}
)
MAX_ID_LENGTH = 128  # the native message_id bound
MAX_NAME_LENGTH = 256  # raw event name and user id bounds


@dataclass(frozen=True, slots=True)
class VendorEvent:
    """A vendor event reduced to what a mapping reads, with the event itself kept raw."""

    source: str  # segment | rudderstack | posthog | amplitude | mixpanel
    message_id: str  # the vendor's dedup key, or a digest of the raw event
    event_name: str
    user_id: str
    ts: datetime  # UTC, clock skew already corrected
    properties: dict[str, Any]
    payload: dict[str, Any]  # as it arrived, less credentials
    timezone: str | None = None  # IANA name, when the vendor's context gives one


Translated = VendorEvent | Rejection


@dataclass(frozen=True, slots=True)
class Parsed:
    """A vendor request read: the keys it presented and its events in order."""

    keys: tuple[str, ...]
    items: list[Translated]
    ids: tuple[str | None, ...] = ()  # the vendor's own dedup keys, where its answers name them


def scrub(value: Any, depth: int = 1) -> Any:
    """`value` without credential keys at any depth; what is nested deeper than the events'
    `MAX_DEPTH` is replaced by `TOO_DEEP_VALUE`, so that the event is rejected for it."""
    if isinstance(value, dict | list) and depth > MAX_DEPTH:
        return TOO_DEEP_VALUE
    if isinstance(value, dict):
        return {k: scrub(v, depth + 1) for k, v in value.items() if k not in CREDENTIAL_KEYS}
    if isinstance(value, list):
        return [scrub(v, depth + 1) for v in value]
    return value


def text(value: Any) -> str | None:
    """An identifier as text: strings as they are, integers written out; anything else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def key_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def keys_of(*candidates: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(k for k in (key_text(c) for c in candidates) if k))


def instant(value: Any, *, unit: str = "auto") -> datetime:
    """A vendor timestamp as an aware UTC datetime.

    Strings are ISO 8601 / RFC 3339 (a missing zone means UTC, as the vendors read it);
    numbers are epoch seconds or milliseconds (`unit` "s", "ms", or "auto": above 1e11 is ms).
    Raises ValueError.
    """
    if isinstance(value, bool):
        raise ValueError("must be an ISO 8601 string or an epoch number")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        milliseconds = unit == "ms" or (unit == "auto" and abs(value) > MILLISECONDS_ABOVE)
        try:
            seconds = value / 1000.0 if milliseconds else float(value)
            return EPOCH + timedelta(seconds=seconds)
        except OverflowError:
            raise ValueError("is out of range") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 timestamp") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return shifted(parsed.astimezone, UTC)
    raise ValueError("must be an ISO 8601 string or an epoch number")


def shifted(operation: Callable[..., datetime], *arguments: Any) -> datetime:
    """`operation(*arguments)`: date arithmetic whose result must lie in the years 1 to 9999
    (a zone offset applied, a clock skew removed); ValueError when it does not."""
    try:
        return operation(*arguments)
    except OverflowError:
        raise ValueError("is outside the years 1 to 9999") from None


def zone(value: Any) -> str | None:
    """An IANA zone name, or None when `value` is not one."""
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return value


def dig(data: Mapping[str, Any], path: str) -> Any:
    """`data[a][b]` for the path "a.b" (a key containing the dot itself wins)."""
    if path in data:
        return data[path]
    current: Any = data
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def message_id(source: str, vendor_id: Any, payload: Mapping[str, Any], *volatile: str) -> str:
    """The native idempotency key: the vendor's own dedup key when it sent one, else a digest
    of the event as sent, less the `volatile` fields a retry rewrites (sent-at clocks)."""
    given = text(vendor_id)
    if given:
        if len(given) <= MAX_ID_LENGTH:
            return given
        return f"{source}:sha256:" + hashlib.sha256(given.encode()).hexdigest()[:48]
    stable = {k: v for k, v in payload.items() if k not in volatile}
    canonical = orjson.dumps(stable, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return f"{source}:sha256:" + hashlib.sha256(canonical).hexdigest()[:48]


def vendor_event(
    *,
    source: str,
    message_id: str,
    event_name: Any,
    user_id: Any,
    ts: datetime,
    properties: Any,
    payload: dict[str, Any],
    timezone: str | None = None,
    name_field: str,
    user_field: str,
) -> Translated:
    """A `VendorEvent`, or the rejection naming the vendor's field that makes it unusable."""
    name = text(event_name)
    if not name:
        return Rejection(name_field, "required field is missing")
    if len(name) > MAX_NAME_LENGTH:
        return Rejection(name_field, f"longer than {MAX_NAME_LENGTH} characters")
    user = text(user_id)
    if not user:
        return Rejection(user_field, "required field is missing")
    if len(user) > MAX_NAME_LENGTH:
        return Rejection(user_field, f"longer than {MAX_NAME_LENGTH} characters")
    bad = unstorable(payload)
    if bad is not None:
        return Rejection(*bad)
    return VendorEvent(
        source=source,
        message_id=message_id,
        event_name=name,
        user_id=user,
        ts=ts,
        properties=properties if isinstance(properties, dict) else {},
        payload=payload,
        timezone=timezone,
    )


def json_document(body: bytes) -> Any:
    """One JSON document, or `MalformedBody`."""
    if not body.strip():
        raise MalformedBody("body is empty")
    try:
        return loads(body)
    except (orjson.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedBody(f"body is not valid JSON: {exc}") from exc


def form_fields(body: bytes) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body (last value of each field wins)."""
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise MalformedBody(f"form body is not UTF-8: {exc}") from exc
    return {name: values[-1] for name, values in fields.items()}


def json_or_base64(value: str) -> Any:
    """A form field holding JSON, or base64-encoded JSON (older browser libraries)."""
    stripped = value.strip()
    if stripped[:1] in ("[", "{"):
        return json_document(stripped.encode())
    padded = stripped + "=" * (-len(stripped) % 4)
    try:
        if "-" in padded or "_" in padded:
            decoded = base64.urlsafe_b64decode(padded)
        else:
            decoded = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedBody("data is neither JSON nor base64-encoded JSON") from exc
    return json_document(decoded)


def is_form(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == (
        "application/x-www-form-urlencoded"
    )


def bounded(
    items: list[Translated], *, now: datetime, future_tolerance_s: float
) -> list[Translated]:
    """`items` with events dated before 1970 or too far in the future turned into rejections
    (the native bounds, applied to every vendor event whether or not a mapping covers it)."""
    limit = now + timedelta(seconds=future_tolerance_s)
    out: list[Translated] = []
    for item in items:
        if isinstance(item, VendorEvent) and item.ts < EPOCH:
            out.append(Rejection("timestamp", "timestamp is before 1970"))
        elif isinstance(item, VendorEvent) and item.ts > limit:
            out.append(
                Rejection(
                    "timestamp", f"timestamp is more than {future_tolerance_s:g} s in the future"
                )
            )
        else:
            out.append(item)
    return out


def rejections(items: list[Translated]) -> list[tuple[int, Rejection]]:
    return [(index, item) for index, item in enumerate(items) if isinstance(item, Rejection)]


# --- answers -------------------------------------------------------------------------------


def refusal(exc: AppError) -> str:
    """Which of the refusals every vendor documents `exc` is."""
    if isinstance(exc, RateLimited):
        return "rate_limited"
    if isinstance(exc, PayloadTooLarge):
        return "too_large"
    if isinstance(exc, Unauthorized):
        return "unauthorized"
    if isinstance(exc, Forbidden):
        return "forbidden"
    if isinstance(exc, BadRequest):
        return "malformed"
    return "other"


def text_answer(status: int, body: str, headers: Mapping[str, str] | None = None) -> Response:
    return Response(body, status_code=status, headers=headers, media_type="text/plain")


def retry_headers(exc: AppError) -> dict[str, str] | None:
    return dict(exc.headers) if exc.headers and "Retry-After" in exc.headers else None
