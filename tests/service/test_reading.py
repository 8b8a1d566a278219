"""Stored events into arrays: the database reader gives the arrays (and digest) that the same
events give when converted directly, on both databases, whatever the insertion order."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import Engine

from models.canonical import columns_from_fields
from models.columns import EventColumns
from service.ingestion.events import validate_event
from service.ingestion.ingest import ingest
from service.storage import postgres_reading
from service.storage.db import make_sessionmaker, transaction
from service.storage.event_window import EventWindow
from service.storage.reading import read_events, records_to_fields
from tests.service.conftest import make_project
from tests.service.factories import native_event

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def sample_events() -> list[dict[str, object]]:
    events = []
    for i in range(300):
        extra: dict[str, object] = {}
        if i % 5 == 0:
            extra["option"] = ["left", "right", "Ärger", "zeta"][i % 4]
        if i % 7 == 0:
            extra["session_id"] = f"s{i % 3}"
        if i % 11 == 0:
            extra["properties"] = {"utc_offset_s": 3600 * (i % 5), "delay_s": 30.0}
        event = native_event(
            i, user_id=f"user-{i % 13}", mechanic=["slots", "Feed", "daily"][i % 3], **extra
        )
        if "option" in event and event["kind"] == "reward":
            del event["option"]
        events.append(event)
    return events


def direct(events: list[dict[str, object]]):  # type: ignore[no-untyped-def]
    records = [validate_event(e, now=NOW, future_tolerance_s=0) for e in events]
    return columns_from_fields(records_to_fields(records))


def test_reader_matches_direct_conversion(clean_database: Engine) -> None:
    events = sample_events()
    shuffled = events[:]
    random.Random(4).shuffle(shuffled)
    project = make_project(clean_database)
    other = make_project(clean_database, "noise")
    with transaction(make_sessionmaker(clean_database)) as session:
        ingest(session, project_id=project.id, items=shuffled, now=NOW, future_tolerance_s=0)
        ingest(session, project_id=other.id, items=events[:50], now=NOW, future_tolerance_s=0)
    read, read_summary = read_events(clean_database, project.id, EventWindow())
    expected, expected_summary = direct(events)
    assert read_summary == expected_summary
    assert (read.user_ids, read.mechanics, read.options) == (
        expected.user_ids,
        expected.mechanics,
        expected.options,
    )

    # Row order differs; compare as sorted records.
    def rows(c):  # type: ignore[no-untyped-def]
        return sorted(
            zip(c.user.tolist(), c.mechanic.tolist(), c.kind.tolist(), c.t.tolist(),
                c.value.tolist(), c.cost.tolist(), c.option.tolist(), c.session.tolist(),
                c.utc_offset_s.tolist(), np.nan_to_num(c.delay_s, nan=-1).tolist(), strict=True)
        )  # fmt: skip

    assert rows(read) == rows(expected)
    assert read_summary.events == 300
    assert read_summary.users == 13


@pytest.mark.parametrize(
    ("window", "count"),
    [
        (EventWindow(mechanics=("daily",)), 100),
        (EventWindow(start=datetime(2026, 5, 1, 12, 1, tzinfo=UTC)), 240),
        (
            EventWindow(
                start=datetime(2026, 5, 1, 12, 1, tzinfo=UTC),
                end=datetime(2026, 5, 1, 12, 2, tzinfo=UTC),
                mechanics=("slots", "Feed"),
            ),
            40,
        ),
    ],
)
def test_window(clean_database: Engine, window: EventWindow, count: int) -> None:
    project = make_project(clean_database)
    with transaction(make_sessionmaker(clean_database)) as session:
        ingest(session, project_id=project.id, items=sample_events(), now=NOW, future_tolerance_s=0)
    columns, summary = read_events(clean_database, project.id, window)
    assert summary.events == len(columns) == count


def test_empty(clean_database: Engine) -> None:
    project = make_project(clean_database)
    columns, summary = read_events(clean_database, project.id, EventWindow())
    assert len(columns) == 0
    assert (summary.events, summary.users, summary.start) == (0, 0, None)


def test_chunked_decoding_gives_the_same_arrays(
    clean_database: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if clean_database.dialect.name != "postgresql":
        pytest.skip("binary COPY decoding is the PostgreSQL reader's")
    project = make_project(clean_database)
    with transaction(make_sessionmaker(clean_database)) as session:
        ingest(session, project_id=project.id, items=sample_events(), now=NOW, future_tolerance_s=0)
    whole, whole_summary = read_events(clean_database, project.id, EventWindow())
    # Decode in chunks far smaller than a COPY block, records split across chunk boundaries.
    monkeypatch.setattr(postgres_reading, "_CHUNK_BYTES", 97)
    monkeypatch.setattr(postgres_reading, "BLOCK_SCAN_MIN_SHARE", 2.0)  # the COPY path
    chunked, chunked_summary = read_events(clean_database, project.id, EventWindow())
    assert chunked_summary == whole_summary
    for name in ("user", "mechanic", "kind", "t", "value", "cost", "option", "session"):
        assert np.array_equal(getattr(chunked, name), getattr(whole, name)), name


def test_hash_collisions_fall_back_to_exact_coding(
    clean_database: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if clean_database.dialect.name != "postgresql":
        pytest.skip("name hashing is the PostgreSQL reader's")
    project = make_project(clean_database)
    with transaction(make_sessionmaker(clean_database)) as session:
        ingest(session, project_id=project.id, items=sample_events(), now=NOW, future_tolerance_s=0)
    hashed, hashed_summary = read_events(clean_database, project.id, EventWindow())
    # A hash that collides for names of equal length forces the join path.
    monkeypatch.setattr(postgres_reading, "_HASH", "length({})::int8")
    joined, joined_summary = read_events(clean_database, project.id, EventWindow())
    assert joined_summary == hashed_summary
    assert joined.user_ids == hashed.user_ids
    for name in ("user", "mechanic", "option", "session", "t"):
        assert np.array_equal(getattr(joined, name), getattr(hashed, name)), name


def test_digest_ignores_order_and_sees_every_field() -> None:
    events = sample_events()
    _, base = direct(events)
    _, reordered = direct(events[::-1])
    assert reordered.digest == base.digest
    changed = [dict(e) for e in events]
    changed[17]["properties"] = {"utc_offset_s": 7200}  # only the zone of one event
    _, other = direct(changed)
    assert other.digest != base.digest
    assert (other.events, other.users) == (base.events, base.users)


def _without_optional_fields(event: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in event.items() if k not in ("option", "session_id", "properties")}


@pytest.mark.parametrize("streams", [1, 3])
@pytest.mark.parametrize("optional", ["everywhere", "late", "nowhere"])
def test_block_scan_and_copy_give_the_same_arrays(
    clean_database: Engine, monkeypatch: pytest.MonkeyPatch, streams: int, optional: str
) -> None:
    # ranges without option, session, zone or delay are read without those columns; a range
    # with any is read whole, and so is every later range of its stream ("late": the first
    # two thirds of the events, stored first, carry none)
    if clean_database.dialect.name != "postgresql":
        pytest.skip("block-range scans are the PostgreSQL reader's")
    events = sample_events()
    if optional != "everywhere":
        cut = 200 if optional == "late" else len(events)
        events = [_without_optional_fields(e) for e in events[:cut]] + events[cut:]
    project = make_project(clean_database)
    other = make_project(clean_database, "other")
    with transaction(make_sessionmaker(clean_database)) as session:
        ingest(session, project_id=project.id, items=events, now=NOW, future_tolerance_s=0)
        ingest(
            session, project_id=other.id, items=sample_events()[:90], now=NOW, future_tolerance_s=0
        )
    # Tiny ranges, so the project's events span many of them and every stream has work.
    monkeypatch.setattr(postgres_reading, "BLOCKS_PER_QUERY", 1)
    monkeypatch.setattr(postgres_reading, "BLOCK_SCAN_MIN_SHARE", 0.0)
    scanned, scanned_summary = read_events(
        clean_database, project.id, EventWindow(), streams=streams
    )
    monkeypatch.setattr(postgres_reading, "BLOCK_SCAN_MIN_SHARE", 2.0)
    copied, copied_summary = read_events(clean_database, project.id, EventWindow(), streams=streams)
    assert scanned_summary == copied_summary
    assert scanned_summary.events == 300
    assert scanned.user_ids == copied.user_ids
    assert scanned.options == copied.options

    def rows(c: EventColumns) -> list[str]:  # the reads' orders differ; repr: NaN == NaN
        fields = (c.user, c.t, c.kind, c.option, c.session, c.utc_offset_s, c.delay_s)
        return sorted(repr(row) for row in zip(*(f.tolist() for f in fields), strict=True))

    assert rows(scanned) == rows(copied)
    assert (scanned.option >= 0).any() == (optional != "nowhere")


def test_the_canonical_order_groups_users_whatever_the_input_order() -> None:
    events = sample_events()
    columns, summary = direct(events)
    assert bool(np.all(np.diff(columns.user) >= 0))  # grouped by user, for slicing
    for seed in range(3):
        shuffled = events[:]
        random.Random(seed).shuffle(shuffled)
        again, again_summary = direct(shuffled)
        assert again_summary == summary
        for name in ("user", "mechanic", "kind", "t", "value", "option", "session", "delay_s"):
            np.testing.assert_array_equal(getattr(again, name), getattr(columns, name))
