"""`POST /v1/events` over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import gzip

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from service.storage.tables import Event
from tests.service.conftest import ProjectKey, make_project
from tests.service.factories import gzip_ndjson, native_batch, native_event, ndjson


def stored(engine: Engine, project_id: int) -> list[str]:
    with engine.connect() as connection:
        return list(
            connection.scalars(
                select(Event.message_id)
                .where(Event.project_id == project_id)
                .order_by(Event.message_id)
            )
        )


def test_gzip_ndjson_batch_then_the_same_again(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    body = gzip_ndjson(native_batch(1000))
    headers = {**project.auth, "Content-Encoding": "gzip", "Content-Type": "application/x-ndjson"}
    first = client.post("/v1/events", content=body, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["accepted"] == 1000
    again = client.post("/v1/events", content=body, headers=headers)
    assert (again.json()["accepted"], again.json()["duplicate"]) == (0, 1000)
    stats = client.get(f"/v1/projects/{project.id}/stats", headers=project.auth).json()
    assert stats["events"] == 1000
    assert stats["users"] == 10
    assert stats["first"] == "2026-05-01T12:00:00Z"
    assert stats["last"] == "2026-05-01T12:16:39Z"
    assert stats["mechanics"] == [{"mechanic": "slots", "responses": 500, "rewards": 500}]
    assert len(stored(clean_database, project.id)) == 1000


def test_5000_with_10_bad_stores_exactly_the_4990_good(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    events: list[object] = list(native_batch(5000))
    bad = {
        17: native_event(17, kind="spin"),
        400: {k: v for k, v in native_event(400).items() if k != "user_id"},
        777: native_event(777, timestamp="2020-13-45T00:00:00Z"),
        1001: native_event(1001, value=float("nan")),
        1500: native_event(1500, user_id="x" * 300),
        2222: native_event(2222, timestamp="1960-01-01T00:00:00Z"),
        3000: native_event(3000, cost=float("inf")),
        3333: native_event(3333, timestamp="2999-01-01T00:00:00Z"),
        4000: "not an event",
        4999: native_event(4999, mechanic=""),
    }
    for index, event in bad.items():
        events[index] = event
    # NaN and Infinity are not JSON: send them as the literals some producers emit.
    body = orjson.dumps(events, option=orjson.OPT_SERIALIZE_NUMPY)
    body = body.replace(b'"value":null', b'"value":NaN').replace(b'"cost":null', b'"cost":Infinity')
    response = client.post("/v1/events", content=body, headers=project.auth)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["duplicate"], result["rejected"]) == (4990, 0, 10)
    rejected = {r["index"]: r for r in result["results"] if r["status"] == "rejected"}
    assert set(rejected) == set(bad)
    assert rejected[17]["field"] == "kind"
    assert rejected[400] == {
        "index": 400,
        "status": "rejected",
        "field": "user_id",
        "reason": "required field is missing",
    }
    assert rejected[1001]["field"] == "value"
    assert rejected[3000]["field"] == "cost"
    assert "before 1970" in rejected[2222]["reason"]
    assert "future" in rejected[3333]["reason"]
    assert rejected[4000]["field"] == ""
    good = sorted(f"m{i}" for i in range(5000) if i not in bad)
    assert stored(clean_database, project.id) == good


def test_duplicates_within_one_batch_are_stored_once(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    events = [native_event(0), native_event(1), native_event(0)]
    result = client.post("/v1/events", json=events, headers=project.auth).json()
    assert [r["status"] for r in result["results"]] == ["accepted", "accepted", "duplicate"]
    assert stored(clean_database, project.id) == ["m0", "m1"]


def test_events_without_message_id_are_deduplicated_by_content(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    events = [{k: v for k, v in native_event(i).items() if k != "message_id"} for i in range(4)]
    assert client.post("/v1/events", json=events, headers=project.auth).json()["accepted"] == 4
    assert client.post("/v1/events", json=events, headers=project.auth).json()["duplicate"] == 4
    assert len(stored(clean_database, project.id)) == 4


def test_malformed_ndjson_names_the_line_and_stores_nothing(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    body = ndjson(native_batch(3)) + b'{"user_id": "u1", oops\n' + ndjson(native_batch(2, 3))
    response = client.post("/v1/events", content=body, headers=project.auth)
    assert response.status_code == 400
    assert response.json()["error"] == "MalformedBody"
    assert response.json()["lines"][0]["line"] == 4
    assert stored(clean_database, project.id) == []


def test_body_limits(client: TestClient, project: ProjectKey, app: object) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    settings.max_body_bytes = 10_000
    settings.max_decompressed_bytes = 200_000
    big = ndjson(native_batch(200))
    assert len(big) > 10_000
    response = client.post("/v1/events", content=big, headers=project.auth)
    assert response.status_code == 413
    bomb = gzip.compress(b" " * 5_000_000)
    assert len(bomb) < 10_000
    response = client.post(
        "/v1/events", content=bomb, headers={**project.auth, "Content-Encoding": "gzip"}
    )
    assert response.status_code == 413
    assert "decompressed" in response.json()["detail"]


def test_keys(client: TestClient, project: ProjectKey, clean_database: Engine) -> None:
    events = native_batch(2)
    assert client.post("/v1/events", json=events).status_code == 401
    wrong = {"Authorization": "Bearer ra_nope"}
    assert client.post("/v1/events", json=events, headers=wrong).status_code == 401
    basic = base64.b64encode(f"{project.key}:".encode()).decode()
    response = client.post("/v1/events", json=events, headers={"Authorization": f"Basic {basic}"})
    assert response.json()["accepted"] == 2


def test_another_projects_key_never_touches_this_project(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    other = make_project(clean_database, "other")
    client.post("/v1/events", json=native_batch(3), headers=project.auth)
    result = client.post("/v1/events", json=native_batch(3), headers=other.auth).json()
    # Same message ids, other project: accepted there, nothing changes here.
    assert result["accepted"] == 3
    assert len(stored(clean_database, project.id)) == 3
    assert len(stored(clean_database, other.id)) == 3
    response = client.get(f"/v1/projects/{project.id}/stats", headers=other.auth)
    assert response.status_code == 403
    with clean_database.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Event)) == 6


def test_acknowledged_events_are_committed_before_the_answer(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    response = client.post("/v1/events", json=native_batch(5), headers=project.auth)
    assert response.json()["accepted"] == 5
    # A separate connection sees them at once: the commit preceded the response.
    assert len(stored(clean_database, project.id)) == 5


def test_rate_limit_answers_429_with_retry_after(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    settings.ingest_rate_events_per_s = 1.0
    settings.ingest_burst_events = 10
    assert client.post("/v1/events", json=native_batch(8), headers=project.auth).status_code == 200
    refused = client.post("/v1/events", json=native_batch(8, 8), headers=project.auth)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"] == "RateLimited"
    assert len(stored(clean_database, project.id)) == 8


def test_a_nul_character_rejects_its_event_only(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    # PostgreSQL refuses NUL in text and JSONB; the event is named, the batch stored.
    events = [native_event(0, user_id="u\x00"), native_event(1, properties={"k": "\x00"})]
    events += native_batch(3, 2)
    result = client.post("/v1/events", json=events, headers=project.auth).json()
    assert [r["status"] for r in result["results"]] == ["rejected"] * 2 + ["accepted"] * 3
    assert [r["field"] for r in result["results"][:2]] == ["user_id", "properties.k"]
    assert len(stored(clean_database, project.id)) == 3
