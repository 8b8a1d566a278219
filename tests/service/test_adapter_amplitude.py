"""Amplitude HTTP V2: translation, `insert_id` dedup, `time` in ms, and Amplitude's documented
response bodies (bar 3)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from service.app import create_app
from service.storage.tables import Event
from tests.service.conftest import ProjectKey, settings_for
from tests.service.test_adapter_common import T0, amplitude_request, counts, spin


def test_events_ingested_and_insert_id_dedup(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    path, request = amplitude_request(project.key, 4)
    first = client.post(path, **request).json()
    assert first["code"] == 200
    assert first["events_ingested"] == 4
    assert first["payload_size_bytes"] > 0
    assert isinstance(first["server_upload_time"], int)
    assert client.post(path, **request).json()["events_ingested"] == 4  # retried: stored once
    assert counts(clean_database, project.id) == (4, 4)
    with clean_database.connect() as connection:
        first_ts = connection.scalar(select(Event.ts).order_by(Event.ts))
    assert first_ts == T0


def test_device_id_and_revenue_fields(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    rules = {
        "rules": [{"event_name": "Buy Gems", "mechanic": "shop", "kind": "response",
                   "cost_property": "price"}]
    }  # fmt: skip
    client.put(f"/v1/projects/{project.id}/mappings", json=rules, headers=project.auth)
    body = {
        "api_key": project.key,
        "events": [{"event_type": "Buy Gems", "device_id": "device-77", "price": 4.99,
                    "quantity": 1, "time": 1777636800000}],
    }  # fmt: skip
    assert client.post("/2/httpapi", json=body).json()["events_ingested"] == 1
    with clean_database.connect() as connection:
        event = connection.execute(select(Event)).one()
    assert (event.user_id, event.mechanic, event.cost) == ("device-77", "shop", 4.99)


def test_an_invalid_event_refuses_the_request_and_names_it(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    events = [
        {"event_type": "Spin", "user_id": "u1", "event_properties": spin(0)},
        {"user_id": "u1"},
        {"event_type": "Spin"},
        {"event_type": "Spin", "user_id": "u1", "time": "noon"},
    ]
    answer = client.post("/2/httpapi", json={"api_key": project.key, "events": events})
    assert answer.status_code == 400
    assert answer.json() == {
        "code": 400,
        "error": "Request missing required field",
        "missing_field": None,
        "events_with_invalid_fields": {"time": [3]},
        "events_with_missing_fields": {"event_type": [1], "user_id": [2]},
    }
    assert counts(clean_database, project.id) == (0, 0)  # the library resends the good ones


# --- bar 3 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"{not json", b"[1]", b"", gzip.compress(b"{bad")])
def test_malformed_body(content: bytes, client: TestClient, project: ProjectKey) -> None:
    headers = {"Content-Type": "application/json"}
    if content[:2] == b"\x1f\x8b":
        headers["Content-Encoding"] = "gzip"
    answer = client.post("/2/httpapi", content=content, headers=headers)
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == 400
    assert body["error"].startswith("Invalid request body")


@pytest.mark.parametrize(
    ("body", "field"), [({"events": [{}]}, "api_key"), ({"api_key": "k"}, "events")]
)
def test_missing_field(body: dict[str, object], field: str, client: TestClient) -> None:
    answer = client.post("/2/httpapi", json=body)
    assert answer.status_code == 400
    assert answer.json() == {
        "code": 400,
        "error": "Request missing required field",
        "missing_field": field,
    }


def test_bad_key(client: TestClient, project: ProjectKey, clean_database: Engine) -> None:
    path, request = amplitude_request("ra_not-a-key")
    answer = client.post(path, **request)
    # Amplitude answers a bad key with 400; its library recognises this prefix.
    assert answer.status_code == 400
    assert set(answer.json()) == {"code", "error"}
    assert answer.json()["error"].startswith("Invalid API key: ")
    assert counts(clean_database, project.id) == (0, 0)


@pytest.fixture
def small_client(clean_database: Engine, database_url: str) -> Iterator[TestClient]:
    settings = settings_for(database_url, max_body_bytes=4096, max_batch_events=10)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize("too", ["bytes", "events"])
def test_oversized_batch(
    too: str, small_client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    path, request = amplitude_request(project.key, 40 if too == "bytes" else 11)
    if too == "events":
        for item in request["json"]["events"]:
            item.pop("event_properties")
    answer = small_client.post(path, content=json.dumps(request["json"]))
    assert answer.status_code == 413
    assert set(answer.json()) == {"code", "error"}
    assert answer.json()["code"] == 413
    assert answer.json()["error"].startswith("Payload too large")
    assert counts(clean_database, project.id) == (0, 0)


def test_rate_limited_answer_lists_the_throttled_events(
    clean_database: Engine, database_url: str, project: ProjectKey
) -> None:
    settings = settings_for(database_url, ingest_rate_events_per_s=0.5, ingest_burst_events=3)
    with TestClient(create_app(settings)) as client:
        path, request = amplitude_request(project.key, 3)
        assert client.post(path, **request).status_code == 200
        answer = client.post(path, **request)
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "6"  # three events at 0.5 per second
    body = answer.json()
    assert body["code"] == 429
    assert body["throttled_events"] == [0, 1, 2]
