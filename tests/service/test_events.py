"""Validation of single native events: each bad field is named with a reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from service.ingestion.events import EventRejected, validate_event
from tests.service.factories import native_event

NOW = datetime(2026, 5, 2, tzinfo=UTC)


def check(item: Any) -> Any:
    return validate_event(item, now=NOW, future_tolerance_s=86_400)


def rejection(item: Any) -> tuple[str, str]:
    with pytest.raises(EventRejected) as info:
        check(item)
    return info.value.rejection.field, info.value.rejection.reason


def test_valid_event_is_normalised_to_utc() -> None:
    record = check(native_event(0, timestamp="2026-05-01T21:00:00+09:00"))
    assert record.ts == datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert record.utc_offset_s == 9 * 3600
    assert record.kind == 0
    assert record.cost == 1.0


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        (1_777_636_800, datetime(2026, 5, 1, 12, 0, tzinfo=UTC)),  # epoch seconds
        (1_777_636_800_500, datetime(2026, 5, 1, 12, 0, 0, 500_000, tzinfo=UTC)),  # ms
        (1_777_636_800.25, datetime(2026, 5, 1, 12, 0, 0, 250_000, tzinfo=UTC)),
    ],
)
def test_epoch_numbers(stamp: float, expected: datetime) -> None:
    record = check(native_event(0, timestamp=stamp))
    assert record.ts == expected
    assert record.utc_offset_s is None


# (fields changed in a valid event, the field named, part of the reason)
BAD_FIELDS: list[tuple[dict[str, Any], str, str]] = [
    ({"kind": "spin"}, "kind", "response"),
    ({"user_id": "x" * 257}, "user_id", "256"),
    ({"user_id": ""}, "user_id", "at least 1"),
    ({"cost": float("nan")}, "cost", "finite"),
    ({"cost": float("inf")}, "cost", "finite"),
    ({"cost": -1.0}, "cost", "greater than or equal"),
    ({"timestamp": "2026-05-01 12:00:00"}, "timestamp", "time zone"),
    ({"timestamp": "yesterday"}, "timestamp", "RFC 3339"),
    ({"timestamp": "1969-12-31T23:59:59Z"}, "timestamp", "before 1970"),
    ({"timestamp": -5}, "timestamp", "before 1970"),
    ({"timestamp": "2026-05-03T00:00:01Z"}, "timestamp", "future"),
    ({"timestamp": 1e300}, "timestamp", "out of range"),
    ({"timestamp": True}, "timestamp", "RFC 3339"),
    ({"mechanic": 5}, "mechanic", "string"),
    ({"value": 3.0}, "value", "reward"),
    ({"properties": {"timezone": "Mars/Olympus"}}, "properties.timezone", "unknown"),
    ({"properties": {"delay_s": -3}}, "properties.delay_s", "≥ 0"),
    ({"properties": {"nested": [1, float("nan")]}}, "properties.nested[1]", "finite"),
    ({"properties": {"note": "a\x00b"}}, "properties.note", "NUL"),
    ({"user_id": "u\x001"}, "user_id", "NUL"),
    ({"mechanic": "slo\x00ts"}, "mechanic", "NUL"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "field", "reason_part"), BAD_FIELDS)
def test_bad_fields_are_named(overrides: dict[str, Any], field: str, reason_part: str) -> None:
    got_field, reason = rejection(native_event(0, **overrides))
    assert got_field == field
    assert reason_part in reason


def test_missing_required_field() -> None:
    event = native_event(0)
    del event["user_id"]
    assert rejection(event) == ("user_id", "required field is missing")


def test_reward_with_cost_is_rejected() -> None:
    assert rejection(native_event(1, cost=2.0))[0] == "cost"


def test_non_object_is_rejected() -> None:
    assert rejection([1, 2])[1].startswith("an event must be a JSON object")


def test_message_id_defaults_to_a_content_digest() -> None:
    event = native_event(0)
    del event["message_id"]
    first = check(event).message_id
    assert first.startswith("sha256:")
    assert check(dict(event)).message_id == first
    assert check({**event, "cost": 2.0}).message_id != first


def test_timezone_property_gives_the_offset_at_that_instant() -> None:
    berlin = {"timezone": "Europe/Berlin"}
    winter = check(native_event(0, timestamp="2025-01-15T12:00:00Z", properties=berlin))
    summer = check(native_event(0, timestamp="2025-07-15T12:00:00Z", properties=berlin))
    assert (winter.utc_offset_s, summer.utc_offset_s) == (3600, 7200)
