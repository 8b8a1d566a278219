"""Segment / RudderStack HTTP Tracking API: translation, dedup, clock skew, and the refusals
in the shape the official libraries read (`code`, `message`) with RudderStack's statuses."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from service.app import create_app
from service.storage.tables import Event, RawEvent
from tests.service.conftest import ProjectKey, settings_for
from tests.service.test_adapter_common import basic, counts, segment_request, spin


def test_batch_is_stored_once_and_retries_are_duplicates(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    path, request = segment_request(project.key, 5)
    assert client.post(path, **request).json() == {"success": True}
    assert client.post(path, **request).status_code == 200
    assert counts(clean_database, project.id) == (5, 5)


def test_device_clock_skew_is_corrected_from_sent_at(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    # The device's clock runs an hour fast: it stamped the event ten minutes before sending.
    skew = timedelta(hours=1)
    now = datetime.now(UTC)
    device_sent = now + skew
    message = {
        "type": "track", "event": "Spin", "userId": "u1", "messageId": "m1",
        "timestamp": (device_sent - timedelta(minutes=10)).isoformat(), "properties": spin(0),
    }  # fmt: skip
    body = {"batch": [message], "sentAt": device_sent.isoformat()}
    assert client.post("/v1/batch", json=body, headers=basic(project.key)).status_code == 200
    with clean_database.connect() as connection:
        ts = connection.scalar(select(Event.ts))
    assert ts is not None
    assert abs((ts - (now - timedelta(minutes=10))).total_seconds()) < 5


@pytest.mark.parametrize("kind", ["track", "identify", "page", "screen", "group", "alias"])
def test_every_message_type_has_its_route_and_key_in_body(
    kind: str, client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    message = {
        "userId": "u1", "event": "Spin", "writeKey": project.key, "messageId": f"m-{kind}",
        "timestamp": "2026-05-01T12:00:00Z", "properties": spin(0), "traits": spin(0),
    }  # fmt: skip
    answer = client.post(f"/v1/{kind}", json=message)
    assert answer.json() == {"success": True}
    with clean_database.connect() as connection:
        raw = connection.execute(select(RawEvent.event_name, RawEvent.payload)).one()
    assert raw.event_name == ("Spin" if kind == "track" else kind)
    assert raw.payload["type"] == kind
    assert "writeKey" not in raw.payload


def test_gzip_batch_anonymous_users_and_rudderstack(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    body = {
        "batch": [{"type": "track", "event": "Spin", "anonymousId": "anon-1", "messageId": "m1",
                   "timestamp": "2026-05-01T12:00:00Z", "properties": spin(0),
                   "context": {"timezone": "Asia/Seoul"}}],
        "context": {"library": {"name": "rudder-analytics-python", "version": "2"}},
    }  # fmt: skip
    headers = {**basic(project.key), "Content-Encoding": "gzip"}
    answer = client.post(
        "/v1/batch", content=gzip.compress(json.dumps(body).encode()), headers=headers
    )
    assert answer.status_code == 200, answer.text
    with clean_database.connect() as connection:
        event = connection.execute(select(Event)).one()
    assert (event.user_id, event.source, event.utc_offset_s) == ("anon-1", "rudderstack", 9 * 3600)


def test_unusable_messages_are_dropped_and_the_batch_answered_200(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    batch = [
        {"type": "track", "event": "Spin", "userId": "u1", "messageId": "ok",
         "properties": spin(0)},
        {"type": "track", "event": "Spin", "messageId": "no-user"},
        {"type": "track", "userId": "u1", "messageId": "no-event"},
        {"type": "shout", "userId": "u1"},
        "not a message",
    ]  # fmt: skip
    answer = client.post("/v1/batch", json={"batch": batch}, headers=basic(project.key))
    assert answer.json() == {"success": True}
    assert counts(clean_database, project.id) == (1, 1)


# --- bar 3: malformed body, bad key, oversized batch --------------------------------------


def assert_refusal(answer: object, status: int, code: str, message: str) -> None:
    assert answer.status_code == status, answer.text  # type: ignore[attr-defined]
    body = answer.json()  # type: ignore[attr-defined]
    assert set(body) == {"success", "code", "message"}
    assert body["success"] is False
    assert body["code"] == code
    assert body["message"].startswith(message)


@pytest.mark.parametrize(
    "content", [b"{not json", b"[1, 2]", b'{"batch": "nope"}', b"", gzip.compress(b"{bad")]
)
def test_malformed_body(
    content: bytes, client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    headers = basic(project.key)
    if content[:2] == b"\x1f\x8b":
        headers["Content-Encoding"] = "gzip"
    answer = client.post("/v1/batch", content=content, headers=headers)
    assert_refusal(answer, 400, "invalid_request", "Invalid JSON")


@pytest.mark.parametrize("where", ["header", "body", "none"])
def test_bad_key(
    where: str, client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    path, request = segment_request("ra_not-a-key", key_in_body=where == "body")
    if where == "none":
        request.pop("headers")
    answer = client.post(path, **request)
    assert_refusal(answer, 401, "invalid_write_key", "Invalid Write Key")
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
    path, request = segment_request(project.key, 40 if too == "bytes" else 11)
    if too == "events":
        for message in request["json"]["batch"]:
            message["properties"] = {}
    answer = small_client.post(path, **request)
    assert_refusal(answer, 413, "request_too_large", "Request size exceeds max limit")
    assert counts(clean_database, project.id) == (0, 0)
