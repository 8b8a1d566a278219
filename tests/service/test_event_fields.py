"""The stored event follows the one definition of its fields (`models.columns.EVENT_FIELDS`)."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import pytest

from models.columns import EVENT_FIELDS, RESPONSE, REWARD, EventField
from service.ingestion.events import EventRecord, EventRejected, validate_event
from service.storage.tables import Event
from tests.service.factories import native_event


def test_a_validated_record_holds_the_fields_in_their_order() -> None:
    assert [f.name for f in fields(EventRecord)] == [f.name for f in EVENT_FIELDS]


def test_the_event_table_stores_the_fields_between_its_keys_and_its_provenance() -> None:
    columns = list(Event.__table__.columns)
    assert [c.name for c in columns] == [
        "id",
        "project_id",
        *(f.name for f in EVENT_FIELDS),
        "source",
        "received_at",
    ]
    stored = {c.name: c for c in columns}
    for field in EVENT_FIELDS:
        assert stored[field.name].nullable == field.optional
        if field.max_length is not None:
            assert stored[field.name].type.length == field.max_length  # type: ignore[attr-defined]


def test_the_kinds_the_table_accepts_are_the_models_kinds() -> None:
    checks = [str(c.sqltext) for c in Event.__table__.constraints if hasattr(c, "sqltext")]
    assert checks == [f"kind IN ({RESPONSE}, {REWARD})"]


@pytest.mark.parametrize(
    "field", [f for f in EVENT_FIELDS if f.max_length is not None], ids=lambda f: f.name
)
def test_validation_accepts_the_longest_text_the_table_stores(field: EventField) -> None:
    assert field.max_length is not None
    now = datetime(2026, 6, 1, tzinfo=UTC)
    longest = native_event(0, **{field.name: "x" * field.max_length})
    assert getattr(validate_event(longest, now=now, future_tolerance_s=0), field.name)
    with pytest.raises(EventRejected) as too_long:
        validate_event(
            native_event(0, **{field.name: "x" * (field.max_length + 1)}),
            now=now,
            future_tolerance_s=0,
        )
    assert too_long.value.rejection.field == field.name
