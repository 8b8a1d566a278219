"""Mixpanel `/track` and `/import`: the libraries' form body, verbose and plain answers,
`$insert_id` dedup, seconds or milliseconds, partial success, and the refusals (bar 3)."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from service.app import create_app
from service.storage.tables import Event
from tests.service.conftest import ProjectKey, settings_for
from tests.service.test_adapter_common import (
    T0,
    basic,
    counts,
    mixpanel_events,
    mixpanel_import_request,
    mixpanel_track_request,
)


@pytest.mark.parametrize("encoding", ["json", "base64", "json-body", "get"])
def test_track(
    encoding: str, client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    events = mixpanel_events(project.key, 3)
    data = json.dumps(events)
    if encoding == "json":
        answer = client.post("/track", data={"data": data, "verbose": "1"})
    elif encoding == "base64":
        answer = client.post(
            "/track?verbose=1", data={"data": base64.b64encode(data.encode()).decode()}
        )
    elif encoding == "json-body":
        answer = client.post("/track?verbose=1", content=data)
    else:
        encoded = base64.urlsafe_b64encode(data.encode()).decode()
        answer = client.get("/track", params={"data": encoded, "verbose": "1"})
    assert answer.json() == {"status": 1, "error": None}
    assert client.post("/track", data={"data": data}).text == "1"  # not verbose; a duplicate
    assert counts(clean_database, project.id) == (3, 3)


def test_seconds_and_milliseconds(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    events = mixpanel_events(project.key, 2)
    events[1]["properties"]["time"] = int(T0.timestamp() * 1000) + 1000
    client.post("/track", data={"data": json.dumps(events), "verbose": "1"})
    with clean_database.connect() as connection:
        times = connection.scalars(select(Event.ts).order_by(Event.ts)).all()
    assert [(t - T0).total_seconds() for t in times] == [0.0, 1.0]


def test_track_refuses_a_batch_with_an_unusable_event(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    events = mixpanel_events(project.key, 2)
    del events[1]["properties"]["distinct_id"]
    answer = client.post("/track", data={"data": json.dumps(events), "verbose": "1"})
    assert answer.status_code == 400
    assert answer.json()["status"] == 0
    assert "distinct_id" in answer.json()["error"]
    assert counts(clean_database, project.id) == (0, 0)


@pytest.mark.parametrize("body", ["ndjson", "array", "gzip", "form"])
def test_import(body: str, client: TestClient, project: ProjectKey, clean_database: Engine) -> None:
    events = mixpanel_events(None, 3)
    headers = basic(project.key)
    if body == "ndjson":
        answer = client.post("/import", content="\n".join(map(json.dumps, events)), headers=headers)
    elif body == "array":
        answer = client.post("/import", json=events, headers=headers)
    elif body == "gzip":
        answer = client.post(
            "/import",
            content=gzip.compress(json.dumps(events).encode()),
            headers={**headers, "Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
    else:
        answer = client.post("/import", data={"data": json.dumps(events)}, headers=headers)
    assert answer.json() == {"code": 200, "error": None, "num_records_imported": 3, "status": 1}
    assert counts(clean_database, project.id) == (3, 3)


def test_import_with_the_token_in_the_properties(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    assert client.post("/import", json=mixpanel_events(project.key, 2)).status_code == 200
    assert counts(clean_database, project.id) == (2, 2)


def test_import_partial_success(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    events = mixpanel_events(None, 4)
    del events[1]["properties"]["time"]
    events[3]["properties"]["time"] = "yesterday"
    answer = client.post("/import", json=events, headers=basic(project.key))
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == 400
    assert body["status"] == "Bad Request"
    assert body["error"] == "some data points in the request failed validation"
    assert body["num_records_imported"] == 2
    assert [(r["index"], r["insert_id"], r["field"]) for r in body["failed_records"]] == [
        (1, "mp-1", "properties.time"),
        (3, "mp-3", "properties.time"),
    ]
    assert counts(clean_database, project.id) == (2, 2)


# --- bar 3 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"[{not json", b"", b"\n\n"])
def test_malformed_body(content: bytes, client: TestClient, project: ProjectKey) -> None:
    answer = client.post("/import", content=content, headers=basic(project.key))
    assert answer.status_code == 400
    body = answer.json()
    assert (body["code"], body["status"], body["num_records_imported"]) == (400, "Bad Request", 0)
    assert isinstance(body["error"], str)
    track = client.post("/track", data={"data": "{not json", "verbose": "1"})
    assert track.status_code == 400
    assert track.json()["status"] == 0
    assert isinstance(track.json()["error"], str)


def test_bad_key(client: TestClient, project: ProjectKey, clean_database: Engine) -> None:
    path, request = mixpanel_import_request("ra_not-a-key")
    answer = client.post(path, **request)
    assert answer.status_code == 401
    assert answer.json() == {"code": 401, "error": "Invalid credentials", "status": "Unauthorized"}
    path, request = mixpanel_track_request("ra_not-a-key")
    track = client.post(path, **request)
    assert track.status_code == 401
    assert track.json()["status"] == 0
    assert client.post(path, data={"data": request["data"]["data"]}).text == "0"
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
    events = mixpanel_events(None, 40 if too == "bytes" else 11)
    if too == "events":
        for event in events:
            event["properties"] = {"distinct_id": "u", "time": 1777636800}
    answer = small_client.post("/import", json=events, headers=basic(project.key))
    assert answer.status_code == 413
    body = answer.json()
    assert (body["code"], body["status"]) == (413, "Request Entity Too Large")
    assert isinstance(body["error"], str)
    assert counts(clean_database, project.id) == (0, 0)
