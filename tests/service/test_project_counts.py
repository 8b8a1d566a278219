"""Project stats come from counters kept at ingestion; they must equal what a scan of the event
table says, after duplicates, concurrent batches, erasure and re-mapping, on both databases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, inspect, select

from service.projects import counts
from service.storage.db import make_sessionmaker, transaction
from service.storage.migrate import alembic_config, upgrade
from service.storage.tables import CountDelta, Event
from tests.service.conftest import ProjectKey, make_project
from tests.service.factories import native_batch, native_event
from tests.service.test_mappings import segment


def scanned(engine: Engine, project_id: int) -> dict[str, Any]:
    """The stats as direct COUNT(*) / COUNT(DISTINCT) over the event table."""
    in_project = Event.project_id == project_id
    with engine.connect() as connection:
        events, users, first, last = connection.execute(
            select(
                func.count(), func.count(func.distinct(Event.user_id)), func.min(Event.ts),
                func.max(Event.ts),
            ).where(in_project)
        ).one()  # fmt: skip
        per_kind = connection.execute(
            select(Event.mechanic, Event.kind, func.count())
            .where(in_project)
            .group_by(Event.mechanic, Event.kind)
        ).all()
    mechanics: dict[str, dict[str, int]] = {}
    for mechanic, kind, count in per_kind:
        entry = mechanics.setdefault(mechanic, {"responses": 0, "rewards": 0})
        entry["responses" if kind == 0 else "rewards"] += count
    return {
        "project_id": project_id,
        "events": events,
        "users": users,
        "first": _iso(first),
        "last": _iso(last),
        "mechanics": [{"mechanic": m, **mechanics[m]} for m in sorted(mechanics)],
    }


def _iso(value: datetime | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def stats(client: TestClient, project: ProjectKey) -> dict[str, Any]:
    response = client.get(f"/v1/projects/{project.id}/stats", headers=project.auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


def mixed(start: int, n: int) -> list[dict[str, Any]]:
    """Events over three mechanics and 13 users, timestamps from `start` seconds on."""
    mechanics = ("slots", "lootbox", "feed")
    return [
        native_event(i, mechanic=mechanics[i % 3], user_id=f"user{i % 13}")
        for i in range(start, start + n)
    ]


def test_stats_equal_a_scan_after_duplicates_concurrent_batches_and_erasure(
    client: TestClient,
    project: ProjectKey,
    clean_database: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(counts, "FOLD_AT", 1)  # every read folds, while batches arrive
    other = make_project(clean_database, "other")
    client.post("/v1/events", json=native_batch(50), headers=other.auth)
    empty = stats(client, project)
    assert empty == scanned(clean_database, project.id)
    assert (empty["events"], empty["users"], empty["first"], empty["mechanics"]) == (0, 0, None, [])

    # overlapping batches sent at once, with stats read among them (each read folds what the
    # batches stored so far): each message id is stored, and counted, once
    batches = [mixed(start, 300) for start in range(0, 1200, 150)]

    def send(batch: list[dict[str, Any]]) -> Any:
        answer = client.post("/v1/events", json=batch, headers=project.auth)
        stats(client, project)
        return answer

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(send, batches))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert sum(a.json()["accepted"] for a in answers) == 1350
    assert sum(a.json()["duplicate"] for a in answers) == 1050
    after_ingest = stats(client, project)
    assert after_ingest == scanned(clean_database, project.id)
    with clean_database.connect() as connection:  # all folded into the totals; not other's yet
        left = select(CountDelta.project_id, func.count()).group_by(CountDelta.project_id)
        assert connection.execute(left).all() == [(other.id, 1)]
    assert (after_ingest["events"], after_ingest["users"]) == (1350, 13)
    assert after_ingest["first"] == "2026-05-01T12:00:00Z"  # event 0 at BASE_TIME
    assert after_ingest["last"] == "2026-05-01T12:22:29Z"  # event 1349

    # erase the user holding the first event (event 0, user0): the first timestamp moves on
    erased = client.delete(f"/v1/projects/{project.id}/users/user0", headers=project.auth)
    assert erased.status_code == 200, erased.text
    assert erased.json()["events"] == len(range(0, 1350, 13))
    after_erasure = stats(client, project)
    assert after_erasure == scanned(clean_database, project.id)
    assert after_erasure["events"] == 1350 - len(range(0, 1350, 13))
    assert after_erasure["users"] == 12
    assert after_erasure["first"] == "2026-05-01T12:00:01Z"
    # erasing a user with no events changes nothing
    client.delete(f"/v1/projects/{project.id}/users/nobody", headers=project.auth)
    assert stats(client, project) == after_erasure

    # the same user again, after erasure, is a new user
    client.post("/v1/events", json=[native_event(5000, user_id="user0")], headers=project.auth)
    again = stats(client, project)
    assert again == scanned(clean_database, project.id)
    assert again["users"] == 13
    assert stats(client, other) == scanned(clean_database, other.id)


def test_stats_follow_vendor_events_mapped_and_unmapped(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    url = f"/v1/projects/{project.id}/mappings"
    client.post("/v1/events", json=native_batch(4), headers=project.auth)
    client.post("/v1/batch", **segment(project.key, ("a", "Spin", {}), ("b", "Spin", {})))
    rule = {"event_name": "Spin", "mechanic": "wheel", "kind": "response"}
    assert client.put(url, json={"rules": [rule]}, headers=project.auth).status_code == 200
    mapped = stats(client, project)
    assert mapped == scanned(clean_database, project.id)
    assert mapped["events"] == 6
    assert {m["mechanic"] for m in mapped["mechanics"]} == {"slots", "wheel"}
    assert client.put(url, json={"rules": []}, headers=project.auth).status_code == 200
    unmapped = stats(client, project)
    assert unmapped == scanned(clean_database, project.id)
    assert unmapped["events"] == 4
    assert unmapped["users"] == 4  # u0..u3; the vendor events' user u1 is among them
    assert [m["mechanic"] for m in unmapped["mechanics"]] == ["slots"]


def test_the_migration_counts_the_events_already_stored(
    client: TestClient, project: ProjectKey, clean_database: Engine, database_url: str
) -> None:
    client.post("/v1/events", json=mixed(0, 200), headers=project.auth)
    expected = scanned(clean_database, project.id)
    assert expected["events"] == 200
    try:
        command.downgrade(alembic_config(database_url), "0007")
        clean_database.dispose()
        assert "project_counts" not in inspect(clean_database).get_table_names()
    finally:
        upgrade(database_url)
        clean_database.dispose()
    assert stats(client, project) == expected
    client.post("/v1/events", json=mixed(200, 10), headers=project.auth)
    assert stats(client, project) == scanned(clean_database, project.id)


def test_deltas_not_yet_folded_are_counted_and_folding_changes_no_figure(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    for start in range(0, 300, 30):  # ten batches, three mechanics each: 30 deltas
        client.post("/v1/events", json=mixed(start, 30), headers=project.auth)
    with clean_database.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(CountDelta)) == 30
    unfolded = stats(client, project)  # under FOLD_AT: summed, not folded
    assert unfolded == scanned(clean_database, project.id)
    assert (unfolded["events"], unfolded["users"]) == (300, 13)
    with transaction(make_sessionmaker(clean_database)) as session:
        counts.fold(session, project.id)
    with clean_database.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(CountDelta)) == 0
    assert stats(client, project) == unfolded
