"""The per-key read rate limit over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.app import create_app
from service.projects.keys import Scope
from tests.service.conftest import make_project, settings_for
from tests.service.test_adapter_common import extra_key


def test_each_key_has_its_own_read_budget_and_is_told_when_to_retry(
    clean_database: Engine, database_url: str
) -> None:
    # one token back every 20 s: the test's requests see no refill, however slow the machine
    settings = settings_for(database_url, read_rate_per_s=0.05, read_burst_requests=3)
    project = make_project(clean_database)
    second = {"Authorization": f"Bearer {extra_key(clean_database, project.id, Scope.READ)}"}
    url = f"/v1/projects/{project.id}/stats"
    with TestClient(create_app(settings)) as client:
        answers = [client.get(url, headers=project.auth) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        refused = answers[-1]
        # one token at 0.05 per second: 20 s, less what refilled during the first requests
        assert 17 <= int(refused.headers["Retry-After"]) <= 20
        assert refused.json()["error"] == "RateLimited"
        assert refused.json()["retry_after"] == int(refused.headers["Retry-After"])
        assert "exceeds 0.05 requests/s" in refused.json()["detail"]
        # another key of the same project reads on; writes are not read requests
        assert client.get(url, headers=second).status_code == 200
        event = {"user_id": "u", "timestamp": "2026-05-01T12:00:00Z", "mechanic": "s",
                 "kind": "response", "cost": 1}  # fmt: skip
        assert client.post("/v1/events", json=[event], headers=project.auth).status_code == 200
        assert client.get(url, headers=project.auth).status_code == 429


def test_reads_are_unlimited_by_default(clean_database: Engine, database_url: str) -> None:
    project = make_project(clean_database)
    with TestClient(create_app(settings_for(database_url))) as client:
        for _ in range(60):
            assert client.get(f"/v1/projects/{project.id}", headers=project.auth).status_code == 200
