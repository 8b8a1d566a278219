"""The native event's fields are defined once (`EVENT_FIELDS`): the arrays follow them."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from models.columns import ARRAY_FIELDS, EVENT_FIELDS, NAME_TABLES, EventColumns


def test_event_columns_hold_one_array_per_field_then_the_name_tables() -> None:
    expected = [f.array for f in ARRAY_FIELDS] + list(NAME_TABLES)
    assert [f.name for f in fields(EventColumns)] == expected


def test_every_field_has_a_unique_name_and_an_array_type_where_the_models_read_it() -> None:
    assert len({f.name for f in EVENT_FIELDS}) == len(EVENT_FIELDS)
    assert all(f.dtype is not None for f in ARRAY_FIELDS)
    assert all(f.absent is not None for f in ARRAY_FIELDS if f.optional)
    assert [f.name for f in ARRAY_FIELDS if f.time] == ["ts"]


def test_absent_optional_fields_take_their_absent_values() -> None:
    columns = EventColumns.from_arrays(
        user_id=["b", "a"], mechanic=["m", "m"], kind=[0, 1], t=[1.0, 2.0]
    )
    assert columns.user_ids == ("a", "b")
    assert columns.user.tolist() == [1, 0]
    for field in ARRAY_FIELDS:
        array = getattr(columns, str(field.array))
        assert array.dtype == field.dtype
        if field.absent is not None:
            assert np.array_equal(array, np.full(2, field.absent, field.dtype), equal_nan=True)


def test_unknown_and_missing_fields_are_refused() -> None:
    with pytest.raises(TypeError, match="no event field"):
        EventColumns.from_arrays(user_id=["a"], mechanic=["m"], kind=[0], t=[1.0], colour=["red"])
    with pytest.raises(TypeError, match="kind is required"):
        EventColumns.from_arrays(user_id=["a"], mechanic=["m"], t=[1.0])


def test_rows_and_take_select_every_array() -> None:
    columns = EventColumns.from_arrays(
        user_id=["a", "b", "c"], mechanic=["m"] * 3, kind=[0, 1, 0], t=[1.0, 2.0, 3.0]
    )
    for picked in (columns.rows(1, 3), columns.take(np.array([1, 2]))):
        assert all(len(getattr(picked, str(f.array))) == 2 for f in ARRAY_FIELDS)
        assert picked.user_ids == columns.user_ids
