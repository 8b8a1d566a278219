"""The stored event follows the one definition of its fields (`models.columns.EVENT_FIELDS`)."""

from __future__ import annotations

from dataclasses import fields

from models.columns import EVENT_FIELDS, RESPONSE, REWARD
from service.events import EventRecord
from service.tables import Event


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
