"""Bulk storage under concurrency: two batches with the same ids racing store each id once; a
project's deletion takes its events with it, even one racing a batch."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from service.errors import NotFound
from service.ingestion.events import validate_event
from service.ingestion.store import store_events
from service.storage.db import make_sessionmaker, transaction
from service.storage.tables import Event, RawEvent
from service.vendors.ingest import store_raw_events
from tests.service.conftest import make_project
from tests.service.factories import native_batch

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def test_racing_batches_store_each_event_once(clean_database: Engine) -> None:
    project = make_project(clean_database)
    records = [validate_event(e, now=NOW, future_tolerance_s=0) for e in native_batch(200)]
    factory = make_sessionmaker(clean_database)
    first_stored = threading.Event()
    results: dict[str, set[str]] = {}

    def first() -> None:
        with transaction(factory) as session:
            results["first"] = store_events(
                session, project_id=project.id, records=records, source="native", now=NOW
            )
            first_stored.set()
            # Hold the transaction open while the second batch arrives.
            second_thread.join(timeout=0.5)

    def second() -> None:
        first_stored.wait()
        with transaction(factory) as session:
            results["second"] = store_events(
                session, project_id=project.id, records=records[100:], source="native", now=NOW
            )

    second_thread = threading.Thread(target=second)
    first_thread = threading.Thread(target=first)
    second_thread.start()  # it waits for the first batch to be stored
    first_thread.start()
    first_thread.join()
    second_thread.join()
    assert len(results["first"]) == 200
    assert results["second"] == set()
    with clean_database.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Event)) == 200


def _store(factory: sessionmaker[Session], project_id: int, count: int) -> None:
    records = [validate_event(e, now=NOW, future_tolerance_s=0) for e in native_batch(count)]
    raw = [
        {"project_id": project_id, "source": "segment", "message_id": f"raw{i}",
         "event_name": "Spin", "user_id": "u", "ts": NOW, "payload": {}, "mapped": False,
         "rule_position": None, "received_at": NOW}
        for i in range(count)
    ]  # fmt: skip
    with transaction(factory) as session:
        store_raw_events(session, rows=raw)
        store_events(session, project_id=project_id, records=records, source="native", now=NOW)


def _counts(engine: Engine) -> dict[str, dict[int, int]]:
    with engine.connect() as connection:
        return {
            table.__tablename__: dict(
                connection.execute(
                    select(table.project_id, func.count()).group_by(table.project_id)
                ).all()
            )
            for table in (Event, RawEvent)
        }


def test_deleting_a_project_deletes_its_events_and_raw_events(clean_database: Engine) -> None:
    # no foreign key does it (migration 0006): a trigger on `project`
    keep, gone = make_project(clean_database, "keep"), make_project(clean_database, "gone")
    factory = make_sessionmaker(clean_database)
    _store(factory, keep.id, 3)
    _store(factory, gone.id, 5)
    assert _counts(clean_database) == {
        "event": {keep.id: 3, gone.id: 5},
        "raw_event": {keep.id: 3, gone.id: 5},
    }
    with clean_database.begin() as connection:
        connection.execute(text("DELETE FROM project WHERE id = :p"), {"p": gone.id})
    assert _counts(clean_database) == {"event": {keep.id: 3}, "raw_event": {keep.id: 3}}


def test_no_event_is_stored_for_a_project_that_does_not_exist(clean_database: Engine) -> None:
    factory = make_sessionmaker(clean_database)
    with pytest.raises(NotFound, match="no project 4242"):
        _store(factory, 4242, 2)
    assert _counts(clean_database) == {"event": {}, "raw_event": {}}


def test_a_project_deleted_while_a_batch_is_stored_takes_the_batch_with_it(
    clean_database: Engine,
) -> None:
    # the batch holds the project's row until it commits, so the deletion waits for it and
    # then deletes its events too: none outlive their project
    project = make_project(clean_database)
    factory = make_sessionmaker(clean_database)
    records = [validate_event(e, now=NOW, future_tolerance_s=0) for e in native_batch(50)]
    stored = threading.Event()
    deleted_at: list[float] = []

    def store() -> None:
        with transaction(factory) as session:
            store_events(session, project_id=project.id, records=records, source="native", now=NOW)
            stored.set()
            time.sleep(0.5)  # the deletion starts meanwhile, and waits
            committed_at.append(time.monotonic())

    def delete() -> None:
        stored.wait()
        with clean_database.begin() as connection:
            connection.execute(text("DELETE FROM project WHERE id = :p"), {"p": project.id})
        deleted_at.append(time.monotonic())

    committed_at: list[float] = []
    threads = [threading.Thread(target=store), threading.Thread(target=delete)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert deleted_at[0] >= committed_at[0]  # the deletion waited for the batch
    assert _counts(clean_database) == {"event": {}, "raw_event": {}}
