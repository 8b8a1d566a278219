"""Fair audit queues: workers take turns between projects, and a project may have only so many
audits queued or running; queueing needs the read scope. On SQLite and PostgreSQL."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.app import create_app
from service.audits import jobs
from service.projects.keys import Scope
from service.storage.db import make_sessionmaker, transaction
from tests.service.conftest import make_project, settings_for
from tests.service.test_adapter_common import extra_key
from tests.service.test_jobs import claim


def queue(engine: Engine, project_id: int, n: int) -> list[str]:
    factory = make_sessionmaker(engine)
    ids = []
    for i in range(n):
        with transaction(factory) as session:
            ids.append(jobs.enqueue(session, project_id=project_id, request={"n": i}).id)
        time.sleep(0.002)  # distinct creation times
    return ids


def test_a_project_queued_later_is_served_before_the_rest_of_a_busy_one(
    clean_database: Engine,
) -> None:
    a = make_project(clean_database, "a").id
    b = make_project(clean_database, "b").id
    a_ids = queue(clean_database, a, 6)
    (b_id,) = queue(clean_database, b, 1)
    claims = [claim(clean_database, f"w{i}") for i in range(3)]
    assert [c.audit_id if c else None for c in claims] == [a_ids[0], b_id, a_ids[1]]


def test_among_equally_busy_projects_the_longest_waiting_goes_first(
    clean_database: Engine,
) -> None:
    a = make_project(clean_database, "a").id
    b = make_project(clean_database, "b").id
    c = make_project(clean_database, "c").id
    a_ids = queue(clean_database, a, 2)
    b_ids = queue(clean_database, b, 2)
    c_ids = queue(clean_database, c, 1)
    order = []
    while (taken := claim(clean_database, "w")) is not None:
        order.append(taken.audit_id)
    # each project's first (a, b, c by age), then the second ones of a and b
    assert order == [a_ids[0], b_ids[0], c_ids[0], a_ids[1], b_ids[1]]


def test_an_expired_lease_is_taken_up_within_the_turns(clean_database: Engine) -> None:
    a = make_project(clean_database, "a").id
    (first,) = queue(clean_database, a, 1)
    dead = claim(clean_database, "dead", lease_s=0.05)
    assert dead is not None
    assert dead.audit_id == first
    b_ids = queue(clean_database, make_project(clean_database, "b").id, 1)
    time.sleep(0.1)
    # a's audit is no longer running (its lease expired) and has waited longest
    taken = [claim(clean_database, "w1"), claim(clean_database, "w2")]
    assert [(t.audit_id, t.attempt) if t else None for t in taken] == [
        (first, 2),
        (b_ids[0], 1),
    ]


def test_a_project_may_have_a_few_audits_in_flight_and_queueing_needs_read(
    clean_database: Engine, database_url: str
) -> None:
    app = create_app(
        settings_for(database_url, max_queued_audits_per_project=3, run_audits_in_process=False)
    )
    project = make_project(clean_database, "busy")
    other = make_project(clean_database, "quiet")
    ingester = {"Authorization": f"Bearer {extra_key(clean_database, project.id, Scope.INGEST)}"}
    reader = {"Authorization": f"Bearer {extra_key(clean_database, project.id, Scope.READ)}"}
    with TestClient(app) as client:
        refused = client.post("/v1/audits", json={}, headers=ingester)
        assert refused.status_code == 403, refused.text
        assert refused.json()["detail"] == "the key lacks the read scope"
        ids = [client.post("/v1/audits", json={}, headers=reader) for _ in range(3)]
        assert [r.status_code for r in ids] == [202, 202, 202]
        full = client.post("/v1/audits", json={}, headers=project.auth)
        assert full.status_code == 429, full.text
        assert full.json()["error"] == "AuditQueueFull"
        assert (full.json()["in_flight"], full.json()["limit"]) == (3, 3)
        # another project is not held back by this one's queue
        assert client.post("/v1/audits", json={}, headers=other.auth).status_code == 202
        # a running audit still counts; a finished one frees its place
        running = claim(clean_database, "w")
        assert running is not None
        assert running.project_id == project.id
        assert client.post("/v1/audits", json={}, headers=project.auth).status_code == 429
        with transaction(make_sessionmaker(clean_database)) as session:
            jobs.fail(session, audit_id=running.audit_id, worker="w", error="stopped")
        assert client.post("/v1/audits", json={}, headers=project.auth).status_code == 202
        assert client.post("/v1/audits", json={}, headers=project.auth).status_code == 429
