"""The native event: its schema, its validation and its normal form.

Every ingestion path (native and vendor adapters) ends here: items become `EventRecord`s or
per-item rejections naming the field and the reason.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from models.columns import EVENT_FIELD, MAX_ABS_VALUE, MAX_COST, MAX_UTC_OFFSET_S, RESPONSE, REWARD
from service.ingestion.payloads import NON_FINITE_NUMBER, UNREADABLE_TEXT

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Epoch numbers above this are milliseconds: 1e11 s is the year 5138, 1e11 ms is 1973.
MILLISECONDS_ABOVE = 1e11


def _timestamp(value: Any) -> Any:
    """RFC 3339 with a zone, or epoch seconds / milliseconds as a number."""
    if isinstance(value, bool):
        raise ValueError("timestamp must be an RFC 3339 string or epoch seconds/milliseconds")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError("timestamp must be a finite number")
        try:
            seconds = value / 1000.0 if abs(value) > MILLISECONDS_ABOVE else float(value)
            return EPOCH + timedelta(seconds=seconds)
        except OverflowError:
            raise ValueError("timestamp is out of range") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"timestamp {value!r} is not RFC 3339") from None
        return _in_range(parsed)
    raise ValueError("timestamp must be an RFC 3339 string or epoch seconds/milliseconds")


def _in_range(parsed: datetime) -> datetime:
    """A written timestamp whose zone offset is plausible and whose UTC instant exists."""
    offset = parsed.utcoffset()
    if offset is None:
        raise ValueError("timestamp needs a time zone (e.g. 'Z' or '+09:00')")
    if abs(offset.total_seconds()) > MAX_UTC_OFFSET_S:
        raise ValueError("timestamp's UTC offset must be within ±14 h")
    try:
        parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError("timestamp is outside the years 1 to 9999 in UTC") from None
    return parsed


# The rules both validators read (this one, per event, and the vectorised screen of
# `service.ingestion.screen`): the kinds and their codes, the fields an event must send, the
# longest text of each text field (`models.columns.EVENT_FIELD`), the written UTC offset's
# bound (`MAX_UTC_OFFSET_S`) and where epoch numbers turn to milliseconds (above).
Kind = Literal["response", "reward"]
KINDS: dict[str, int] = {"response": RESPONSE, "reward": REWARD}
assert tuple(KINDS) == get_args(Kind)
REQUIRED_FIELDS = ("user_id", "timestamp", "mechanic", "kind")
MAX_LENGTH: dict[str, int] = {
    name: int(EVENT_FIELD[name].max_length or 0)
    for name in ("user_id", "mechanic", "option", "session_id", "message_id")
}
# The time zone properties an event may send: its offset in seconds, or an IANA zone name.
OFFSET_PROPERTY = "utc_offset_s"
ZONE_PROPERTY = "timezone"
DELAY_PROPERTY = "delay_s"


UserId = Annotated[str, Field(min_length=1, max_length=MAX_LENGTH["user_id"])]
MechanicName = Annotated[str, Field(min_length=1, max_length=MAX_LENGTH["mechanic"])]
OptionName = Annotated[str, Field(min_length=1, max_length=MAX_LENGTH["option"])]
SessionId = Annotated[str, Field(min_length=1, max_length=MAX_LENGTH["session_id"])]
MessageId = Annotated[str, Field(min_length=1, max_length=MAX_LENGTH["message_id"])]


FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class NativeEvent(BaseModel):
    """One thing a user did (`response`) or got (`reward`) from a mechanic, at a time."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    user_id: UserId
    timestamp: Annotated[datetime, BeforeValidator(_timestamp)]
    mechanic: MechanicName
    kind: Kind
    value: FiniteFloat = Field(0.0, description="Reward magnitude; negative is aversive.")
    cost: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = Field(
        0.0, description="What the response cost (money, currency, energy)."
    )
    option: OptionName | None = None
    session_id: SessionId | None = None
    message_id: MessageId | None = Field(None, description="Idempotency key within the project.")
    properties: dict[str, Any] | None = None


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 3× on this hot path
class EventRecord:
    """A validated event in the form it is stored: the fields of `models.columns.EVENT_FIELDS`,
    in their order (built positionally on the hot path)."""

    message_id: str
    user_id: str
    mechanic: str
    kind: int
    ts: datetime
    value: float
    cost: float
    option: str | None
    session_id: str | None
    utc_offset_s: int | None
    delay_s: float | None
    properties: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Rejection:
    field: str
    reason: str


class EventRejected(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.rejection = Rejection(field, reason)


# The event's own validator, without `model_validate`'s Python wrapper around it.
_validate_native = NativeEvent.__pydantic_validator__.validate_python
_TEXT_FIELDS = ("user_id", "mechanic", "option", "session_id", "message_id")


@functools.lru_cache(maxsize=8)
def _latest(now: datetime, future_tolerance_s: float) -> datetime:
    """The latest timestamp accepted at `now` (the same for every event of a batch)."""
    return now + timedelta(seconds=future_tolerance_s)


def validate_event(
    item: Any,
    *,
    now: datetime,
    future_tolerance_s: float,
    max_abs_value: float = MAX_ABS_VALUE,
    max_cost: float = MAX_COST,
) -> EventRecord:
    """The stored form of one native event, or `EventRejected` naming the field and why.

    `max_abs_value` and `max_cost` bound a reward's |value| and a response's cost."""
    if not isinstance(item, dict):
        raise EventRejected("", f"an event must be a JSON object, not {type(item).__name__}")
    try:
        event = _validate_native(item)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in error["loc"])
        raise EventRejected(field, _reason(error)) from None
    if abs(event.value) > max_abs_value:
        raise EventRejected("value", f"|value| must be at most {max_abs_value:g}")
    if event.cost > max_cost:
        raise EventRejected("cost", f"cost must be at most {max_cost:g}")
    ts = event.timestamp.astimezone(UTC)
    if ts < EPOCH:
        raise EventRejected("timestamp", "timestamp is before 1970")
    if ts > _latest(now, future_tolerance_s):
        raise EventRejected(
            "timestamp", f"timestamp is more than {future_tolerance_s:g} s in the future"
        )
    kind = KINDS[event.kind]
    if kind == RESPONSE and event.value != 0.0:
        raise EventRejected(
            "value", "a response carries no value; send its outcome as a reward event"
        )
    if kind == REWARD and event.cost != 0.0:
        raise EventRejected("cost", "a reward carries no cost; put the cost on its response")
    properties = event.properties
    texts = (event.user_id, event.mechanic, event.option, event.session_id, event.message_id)
    if any(text is not None and "\x00" in text for text in texts):
        for name, text in zip(_TEXT_FIELDS, texts, strict=True):
            if text is not None and "\x00" in text:
                raise EventRejected(name, _text_reason(text))
    if properties:
        bad = unstorable(properties)
        if bad is not None:
            path, reason = bad
            raise EventRejected(f"properties.{path}", reason)
    utc_offset_s = _utc_offset(event, ts)
    delay_s = _delay(properties)
    message_id = event.message_id or content_digest(event, ts)
    # positionally, in the fields' order: keywords cost a tenth of validating an event
    return EventRecord(
        message_id, event.user_id, event.mechanic, kind, ts, event.value, event.cost,
        event.option, event.session_id, utc_offset_s, delay_s, properties,
    )  # fmt: skip


# How deep an event's properties (a vendor event as a whole) may nest, and how long a text in
# them may be. Analytics payloads nest a few levels; 64 keeps every walk over a stored value
# (credential scrubbing, these checks, serialisation) far from any recursion limit.
MAX_DEPTH = 64
MAX_TEXT = 1024 * 1024
# What a value nested deeper than `MAX_DEPTH` is replaced by where it is copied
# (`service.vendors.adapters.common.scrub`); like the parser's markers it begins with NUL.
TOO_DEEP_VALUE = "\x00\ufffc"

NUL_TEXT = "text may not contain a NUL character"
UNREADABLE = "text is not valid UTF-8 (invalid bytes or a lone surrogate)"
NON_FINITE = "numbers must be finite"
TOO_DEEP = f"values may nest at most {MAX_DEPTH} levels deep"
TOO_LONG = f"text may be at most {MAX_TEXT} characters long"


def _text_reason(text: str) -> str:
    if UNREADABLE_TEXT in text:
        return UNREADABLE
    if text == NON_FINITE_NUMBER:
        return NON_FINITE
    if text == TOO_DEEP_VALUE:
        return TOO_DEEP
    return NUL_TEXT


def unstorable(value: Any) -> tuple[str, str] | None:
    """Where a JSON value holds what no database column takes, and why: a number that is not
    finite, text with a NUL or longer than `MAX_TEXT`, what the parser could not read
    (`UNREADABLE_TEXT`, `NON_FINITE_NUMBER`), or nesting deeper than `MAX_DEPTH`. Stops at
    that depth, so any value may be given."""
    found = _unstorable(value, "", 1)
    if found is None:
        return None
    path, reason = found
    return _shown(path), reason


def _unstorable(value: Any, path: str, depth: int) -> tuple[str, str] | None:
    if isinstance(value, float) and not math.isfinite(value):
        return path or "value", NON_FINITE
    if isinstance(value, str):
        if "\x00" in value:
            return path or "value", _text_reason(value)
        if len(value) > MAX_TEXT:
            return path or "value", TOO_LONG
        return None
    if isinstance(value, dict | list) and depth > MAX_DEPTH:
        return path or "value", TOO_DEEP
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here, _text_reason(str(key))
            if len(str(key)) > MAX_TEXT:
                return here, TOO_LONG
            found = _unstorable(item, here, depth + 1)
            if found is not None:
                return found
    elif isinstance(value, list):
        for position, item in enumerate(value):
            found = _unstorable(item, f"{path}[{position}]", depth + 1)
            if found is not None:
                return found
    return None


def _shown(path: str) -> str:
    """A path as the answer names it: NULs escaped, at most 300 characters."""
    path = path.replace("\x00", "\\u0000")
    return path if len(path) <= 300 else path[:300] + "…"


def _reason(error: Any) -> str:
    if error["type"] == "missing":
        return "required field is missing"
    given = error.get("input")
    if isinstance(given, str) and "\x00" in given:
        return _text_reason(given)
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    return message


def _utc_offset(event: NativeEvent, ts: datetime) -> int | None:
    """The user's zone offset: `properties.utc_offset_s`, `properties.timezone` (IANA name),
    else the offset written in the timestamp itself; unknown (None) for epoch numbers."""
    properties = event.properties or {}
    offset = properties.get(OFFSET_PROPERTY)
    if offset is not None:
        if (
            isinstance(offset, bool)
            or not isinstance(offset, int | float)
            or not math.isfinite(offset)
            or abs(offset) > MAX_UTC_OFFSET_S
        ):
            raise EventRejected(
                "properties.utc_offset_s", "must be a number of seconds within ±14 h"
            )
        return int(offset)
    zone = properties.get(ZONE_PROPERTY)
    if zone is not None:
        if not isinstance(zone, str):
            raise EventRejected("properties.timezone", "must be an IANA time zone name")
        try:
            delta = ts.astimezone(ZoneInfo(zone)).utcoffset()
        except (ZoneInfoNotFoundError, ValueError, OverflowError):
            raise EventRejected("properties.timezone", f"unknown time zone {zone!r}") from None
        return int(delta.total_seconds()) if delta is not None else None
    written = event.timestamp.utcoffset()
    return int(written.total_seconds()) if written is not None and written else None


def _delay(properties: dict[str, Any] | None) -> float | None:
    """`properties.delay_s`: the wait a wait-or-pay response was offered."""
    if not properties or properties.get(DELAY_PROPERTY) is None:
        return None
    delay = properties[DELAY_PROPERTY]
    if (
        isinstance(delay, bool)
        or not isinstance(delay, int | float)
        or not math.isfinite(delay)
        or delay < 0
    ):
        raise EventRejected("properties.delay_s", "must be a finite number of seconds ≥ 0")
    return float(delay)


def content_digest(event: NativeEvent, ts: datetime) -> str:
    """The idempotency key of an event sent without `message_id`: a digest of its content."""
    return digest_of_content(
        event.user_id, ts.isoformat(), event.mechanic, event.kind, event.value, event.cost,
        event.option, event.session_id, event.properties,
    )  # fmt: skip


def digest_of_content(*content: Any) -> str:
    """`content_digest` of an event's content (user, UTC time in ISO form, mechanic, kind name,
    value, cost, option, session, properties), however it was read."""
    canonical = orjson.dumps(list(content), option=orjson.OPT_SORT_KEYS)
    return "sha256:" + hashlib.sha256(canonical).hexdigest()[:48]
