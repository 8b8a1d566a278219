"""Bulk storage under concurrency: two batches with the same ids racing store each id once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from service.db import make_sessionmaker, transaction
from service.event_store import store_events
from service.events import validate_event
from service.tables import Event
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
