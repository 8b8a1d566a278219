"""What every adapter shares: keys, isolation between projects (bar 2), the rate limit,
credentials never stored, and the helpers the other adapter tests use."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from service.app import create_app
from service.ingestion.ratelimit import RateLimited, TokenBuckets
from service.projects import projects
from service.projects.keys import Scope
from service.storage.db import make_sessionmaker, transaction
from service.storage.tables import Event, RawEvent
from service.vendors.adapters.common import instant, message_id, scrub
from tests.service.conftest import ProjectKey, make_project, settings_for

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def spin(i: int, user: str = "u1") -> dict[str, Any]:
    """Properties of a Spin that the default names map: a response of `slots` costing 1."""
    return {"mechanic": "slots", "kind": "response", "cost": 1.0, "round": i, "user": user}


def at(i: int) -> datetime:
    return T0 + timedelta(seconds=i)


# One request per vendor carrying `n` events for `key`: (path, keyword arguments for post).
Request = tuple[str, dict[str, Any]]


def segment_request(key: str, n: int = 3, *, key_in_body: bool = False) -> Request:
    batch = [
        {"type": "track", "event": "Spin", "userId": "u1", "messageId": f"seg-{i}",
         "timestamp": at(i).isoformat(), "properties": spin(i)}
        for i in range(n)
    ]  # fmt: skip
    if key_in_body:
        return "/v1/batch", {"json": {"batch": batch, "writeKey": key}}
    return "/v1/batch", {"json": {"batch": batch}, "headers": basic(key)}


def posthog_request(key: str, n: int = 3) -> Request:
    batch = [
        {"event": "Spin", "distinct_id": "u1", "uuid": f"0000000{i}-0000-4000-8000-000000000000",
         "timestamp": at(i).isoformat(), "properties": spin(i)}
        for i in range(n)
    ]  # fmt: skip
    return "/batch/", {"json": {"api_key": key, "batch": batch}}


def amplitude_request(key: str, n: int = 3) -> Request:
    events = [
        {"event_type": "Spin", "user_id": "u1", "insert_id": f"amp-{i}",
         "time": int(at(i).timestamp() * 1000), "event_properties": spin(i)}
        for i in range(n)
    ]  # fmt: skip
    return "/2/httpapi", {"json": {"api_key": key, "events": events}}


def mixpanel_events(key: str | None, n: int) -> list[dict[str, Any]]:
    return [
        {"event": "Spin", "properties": {
            **({"token": key} if key else {}), "distinct_id": "u1", "$insert_id": f"mp-{i}",
            "time": int(at(i).timestamp()), **spin(i)}}
        for i in range(n)
    ]  # fmt: skip


def mixpanel_track_request(key: str, n: int = 3) -> Request:
    data = json.dumps(mixpanel_events(key, n))
    return "/track", {"data": {"data": data, "verbose": "1"}}


def mixpanel_import_request(key: str, n: int = 3) -> Request:
    body = "\n".join(json.dumps(e) for e in mixpanel_events(None, n))
    return "/import", {"content": body, "headers": basic(key)}


VENDORS: dict[str, Callable[[str], Request]] = {
    "segment": segment_request,
    "posthog": posthog_request,
    "amplitude": amplitude_request,
    "mixpanel-track": mixpanel_track_request,
    "mixpanel-import": mixpanel_import_request,
}


def counts(engine: Engine, project_id: int) -> tuple[int, int]:
    """(native events, raw vendor events) stored for the project."""
    with engine.connect() as connection:
        native = connection.scalar(select(func.count()).where(Event.project_id == project_id))
        raw = connection.scalar(select(func.count()).where(RawEvent.project_id == project_id))
    return int(native or 0), int(raw or 0)


def extra_key(engine: Engine, project_id: int, *scopes: Scope) -> str:
    with transaction(make_sessionmaker(engine)) as session:
        _, key = projects.create_key(session, project_id=project_id, name="k", scopes=scopes)
    return key


# --- bar 2: a key writes only into its own project --------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_key_writes_into_its_own_project_only(
    vendor: str, client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    other = make_project(clean_database, "other")
    path, request = VENDORS[vendor](project.key)
    answer = client.post(path, **request)
    assert answer.status_code == 200, answer.text
    assert counts(clean_database, project.id) == (3, 3)
    assert counts(clean_database, other.id) == (0, 0)


@pytest.mark.parametrize("vendor", VENDORS)
def test_keys_of_two_projects_in_one_request_are_refused(
    vendor: str, client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    other = make_project(clean_database, "other")
    path, request = VENDORS[vendor](project.key)
    # The other project's key rides along where that vendor carries a second one.
    if vendor == "segment":
        request["json"]["writeKey"] = other.key
    elif vendor == "posthog":
        request["json"]["batch"][1]["properties"]["token"] = other.key
    elif vendor == "amplitude":
        request["headers"] = basic(other.key)  # Amplitude reads only the body: ignored
    elif vendor == "mixpanel-track":
        events = json.loads(request["data"]["data"])
        events[1]["properties"]["token"] = other.key
        request["data"]["data"] = json.dumps(events)
    else:
        request["content"] = request["content"].replace(
            '"distinct_id"', f'"token": "{other.key}", "distinct_id"', 1
        )
    answer = client.post(path, **request)
    if vendor == "amplitude":
        assert answer.status_code == 200  # the header is not an Amplitude credential
        assert counts(clean_database, other.id) == (0, 0)
        return
    assert answer.status_code in (400, 401), answer.text
    assert counts(clean_database, project.id) == (0, 0)
    assert counts(clean_database, other.id) == (0, 0)


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("scopes", [(Scope.READ,), (Scope.MANAGE,)])
def test_a_key_without_the_ingest_scope_writes_nothing(
    vendor: str,
    scopes: tuple[Scope, ...],
    client: TestClient,
    project: ProjectKey,
    clean_database: Engine,
) -> None:
    key = extra_key(clean_database, project.id, *scopes)
    path, request = VENDORS[vendor](key)
    answer = client.post(path, **request)
    assert answer.status_code in (400, 401, 403), answer.text
    assert counts(clean_database, project.id) == (0, 0)


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_revoked_key_writes_nothing(
    vendor: str, client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    key = extra_key(clean_database, project.id, Scope.INGEST)
    listed = client.get(f"/v1/projects/{project.id}/keys", headers=project.auth).json()
    client.delete(f"/v1/projects/{project.id}/keys/{listed[-1]['id']}", headers=project.auth)
    path, request = VENDORS[vendor](key)
    assert client.post(path, **request).status_code in (400, 401)
    assert counts(clean_database, project.id) == (0, 0)


def test_mappings_of_another_project_are_out_of_reach(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    other = make_project(clean_database, "other")
    url = f"/v1/projects/{other.id}/mappings"
    assert client.get(url, headers=project.auth).status_code == 403
    rules = {"rules": [{"event_name": "Spin", "mechanic": "slots", "kind": "response"}]}
    assert client.put(url, json=rules, headers=project.auth).status_code == 403


# --- credentials are never stored -------------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_key_is_never_stored(
    vendor: str, client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    path, request = VENDORS[vendor](project.key)
    if vendor == "segment":
        path, request = segment_request(project.key, key_in_body=True)
        for message in request["json"]["batch"]:
            message["writeKey"] = project.key
    assert client.post(path, **request).status_code == 200
    with clean_database.connect() as connection:
        payloads = connection.scalars(select(RawEvent.payload)).all()
        properties = connection.scalars(select(Event.properties)).all()
    assert payloads
    assert project.key not in json.dumps(payloads) + json.dumps(properties)


def test_scrub_removes_credentials_at_any_depth() -> None:
    event = {"token": "k", "properties": {"token": "k", "nested": {"api_key": "k", "x": 1}}}
    assert scrub(event) == {"properties": {"nested": {"x": 1}}}


# --- the rate limit ---------------------------------------------------------------------------


def test_token_buckets_refill_at_the_rate() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=10.0, burst=20, clock=lambda: now[0])
    buckets.take(1, 20)
    with pytest.raises(RateLimited) as refused:
        buckets.take(1, 5)
    assert refused.value.retry_after_s == 1  # 5 tokens at 10/s
    buckets.take(2, 20)  # another project has its own bucket
    now[0] = 0.5
    buckets.take(1, 5)
    now[0] = 100.0
    buckets.take(1, 500)  # larger than the bucket: admitted when full, leaving a debt
    with pytest.raises(RateLimited) as refused:
        buckets.take(1, 1)
    assert refused.value.retry_after_s == 49


def test_no_limit_by_default() -> None:
    buckets = TokenBuckets(rate=0.0, burst=1)
    for _ in range(100):
        buckets.take(1, 1_000_000)


@pytest.fixture
def limited_client(clean_database: Engine, database_url: str) -> Iterator[TestClient]:
    settings = settings_for(database_url, ingest_rate_events_per_s=1.0, ingest_burst_events=4)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.mark.parametrize("vendor", VENDORS)
def test_rate_limited_answers_429_with_retry_after(
    vendor: str, limited_client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    path, request = VENDORS[vendor](project.key)
    assert limited_client.post(path, **request).status_code == 200
    refused = limited_client.post(path, **VENDORS[vendor](project.key)[1])
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["Retry-After"]) >= 1
    assert counts(clean_database, project.id) == (3, 3)


# --- shared helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-05-01T12:00:00Z", T0),
        ("2026-05-01T14:00:00+02:00", T0),
        ("2026-05-01T12:00:00", T0),  # no zone: UTC, as the vendors read it
        (1777636800, T0),
        (1777636800000, T0),
        (1777636800.5, T0 + timedelta(milliseconds=500)),
    ],
)
def test_instant(value: Any, expected: datetime) -> None:
    assert instant(value) == expected


@pytest.mark.parametrize("value", [True, None, "yesterday", float("nan"), {"t": 1}])
def test_instant_refuses(value: Any) -> None:
    with pytest.raises(ValueError, match=r"."):
        instant(value)


def test_message_id_is_the_vendors_key_or_a_stable_digest() -> None:
    assert message_id("posthog", "abc", {}) == "abc"
    long = "x" * 300
    assert message_id("posthog", long, {}).startswith("posthog:sha256:")
    first = message_id("segment", None, {"event": "Spin", "sentAt": "a"}, "sentAt")
    again = message_id("segment", None, {"event": "Spin", "sentAt": "b"}, "sentAt")
    assert first == again != message_id("segment", None, {"event": "Win"}, "sentAt")


def test_the_vendor_routes_are_documented(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/batch", "/v1/track", "/batch/", "/i/v0/e/", "/2/httpapi", "/track"):
        assert path in paths
    assert set(paths["/track"]) == {"get", "post"}
    assert {"get", "put"} <= set(paths["/v1/projects/{project_id}/mappings"])
