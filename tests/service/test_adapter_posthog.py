"""PostHog capture: the four paths, the three body shapes, gzip by magic bytes, `uuid` dedup,
`sent_at`/`offset` time, and the capture service's plain-text refusals (bar 3)."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from service.app import create_app
from service.storage.tables import Event
from tests.service.conftest import ProjectKey, settings_for
from tests.service.test_adapter_common import counts, posthog_request, spin

PATHS = ["/batch", "/batch/", "/capture", "/capture/", "/e", "/e/", "/i/v0/e", "/i/v0/e/"]


def event(i: int, **extra: object) -> dict[str, object]:
    return {
        "event": "Spin", "distinct_id": "u1", "properties": spin(i),
        "uuid": f"0000000{i}-0000-4000-8000-000000000000", "timestamp": "2026-05-01T12:00:00Z",
        **extra,
    }  # fmt: skip


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("shape", ["batch", "array", "single", "token-in-properties"])
def test_paths_and_body_shapes(
    path: str, shape: str, client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    body: object
    if shape == "batch":
        body = {"api_key": project.key, "batch": [event(0), event(1)]}
    elif shape == "array":
        body = [event(0, api_key=project.key), event(1, api_key=project.key)]
    elif shape == "single":
        body = event(0, token=project.key)
    else:
        single = event(0)
        single["properties"] = {**spin(0), "token": project.key}
        body = single
    answer = client.post(path, json=body)
    assert (answer.status_code, answer.json()) == (200, {"status": 1})
    expected = 1 if shape in ("single", "token-in-properties") else 2
    assert counts(clean_database, project.id) == (expected, expected)


@pytest.mark.parametrize("header", [None, "gzip"])
def test_gzip_is_recognised_by_its_magic_bytes(
    header: str | None, client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    path, request = posthog_request(project.key)
    content = gzip.compress(json.dumps(request["json"]).encode())
    headers = {"Content-Type": "text/plain"} | ({"Content-Encoding": header} if header else {})
    assert client.post(path, content=content, headers=headers).status_code == 200
    assert client.post(path, content=content, headers=headers).status_code == 200
    assert counts(clean_database, project.id) == (3, 3)  # uuid dedup


def test_browser_form_body_with_base64_data(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    data = base64.b64encode(json.dumps([event(0, api_key=project.key)]).encode()).decode()
    assert client.post("/e/", data={"data": data}).status_code == 200
    assert counts(clean_database, project.id) == (1, 1)


def test_time_from_sent_at_and_offset(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    now = datetime.now(UTC)
    device_now = now - timedelta(hours=2)  # the device's clock is two hours slow
    skewed = event(0, timestamp=(device_now - timedelta(minutes=5)).isoformat())
    offset = event(1, timestamp=None, offset=60_000)
    body = {"api_key": project.key, "sent_at": device_now.isoformat(), "batch": [skewed, offset]}
    assert client.post("/batch/", json=body).status_code == 200
    with clean_database.connect() as connection:
        times = connection.scalars(select(Event.ts).order_by(Event.ts)).all()
    assert abs((times[0] - (now - timedelta(minutes=5))).total_seconds()) < 5
    assert abs((times[1] - (now - timedelta(minutes=1))).total_seconds()) < 5


def test_an_event_without_distinct_id_refuses_the_request(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    body = {"api_key": project.key, "batch": [event(0), event(1, distinct_id=None)]}
    answer = client.post("/batch/", json=body)
    assert (answer.status_code, answer.text) == (400, "event submitted without a distinct_id")
    assert answer.headers["content-type"].startswith("text/plain")
    assert counts(clean_database, project.id) == (0, 0)


# --- bar 3 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b"{not json", b"42", b'{"batch": 1}', b"", b"[]"])
def test_malformed_body(content: bytes, client: TestClient, project: ProjectKey) -> None:
    answer = client.post("/batch/", content=content)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text.startswith("failed to decode request: ")


@pytest.mark.parametrize("key", ["ra_not-a-key", None])
def test_bad_key(
    key: str | None, client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    body: dict[str, object] = {"batch": [event(0)]}
    if key:
        body["api_key"] = key
    answer = client.post("/batch/", json=body)
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text.startswith("API key is not valid: ")
    assert counts(clean_database, project.id) == (0, 0)


@pytest.fixture
def small_client(clean_database: Engine, database_url: str) -> Iterator[TestClient]:
    settings = settings_for(database_url, max_decompressed_bytes=4096, max_batch_events=10)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize("too", ["bytes", "events"])
def test_oversized_batch(
    too: str, small_client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    path, request = posthog_request(project.key, 40 if too == "bytes" else 11)
    content = gzip.compress(json.dumps(request["json"]).encode())  # small on the wire
    answer = small_client.post(path, content=content)
    assert answer.status_code == 413
    assert answer.text.startswith("maximum event size exceeded: ")
    assert counts(clean_database, project.id) == (0, 0)
