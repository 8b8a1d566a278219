"""Hostile input on the vendor routes, over real HTTP: a bad event is dropped alone (or named
as its vendor names it), a garbage key is refused, and nothing answers 500 or logs a traceback."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.service.conftest import ProjectKey
from tests.service.hostile import (
    SURROGATE,
    UNREADABLE,
    answered,
    deep,
)
from tests.service.test_adapter_common import basic, counts, spin

# --- vendor routes -------------------------------------------------------------------------------


def segment_batch(bad: bytes) -> bytes:
    messages = [
        {"type": "track", "event": "Spin", "userId": "u1", "messageId": f"seg-{i}",
         "timestamp": "2026-05-01T12:00:00Z", "properties": spin(i)}
        for i in range(3)
    ]  # fmt: skip
    return b'{"batch": [' + b",".join([*map(orjson.dumps, messages), bad]) + b"]}"


SEGMENT_BAD = {
    "surrogate-event": b'{"type": "track", "event": "Spin\\ud800", "userId": "u1"}',
    "surrogate-user": b'{"type": "track", "event": "Spin", "userId": "\\udbff"}',
    "surrogate-property": b'{"type": "track", "event": "Spin", "userId": "u1", '
    b'"properties": {"mechanic": "slots", "kind": "response", "x": "\\ud800"}}',
    "surrogate-property-key": b'{"type": "track", "event": "Spin", "userId": "u1", '
    b'"properties": {"\\ud800": 1}}',
    "invalid-utf8": b'{"type": "track", "event": "Sp\xc3in", "userId": "u1"}',
    "nul-message-id": b'{"type": "track", "event": "Spin", "userId": "u1", "messageId": "\\u0000"}',
    "value-401-digits": b'{"type": "track", "event": "Spin", "userId": "u1", "properties": '
    b'{"mechanic": "slots", "kind": "reward", "value": ' + b"7" * 401 + b"}}",
    "deep-700": b'{"type": "track", "event": "Spin", "userId": "u1", "properties": {"a": '
    + deep(700) + b"}}",
    "timestamp-max": b'{"type": "track", "event": "Spin", "userId": "u1", '
    b'"timestamp": "9999-12-31T23:59:59-14:00"}',
    "timestamp-min": b'{"type": "track", "event": "Spin", "userId": "u1", '
    b'"timestamp": "0001-01-01T00:00:00+14:00"}',
    "sent-at-min": b'{"type": "track", "event": "Spin", "userId": "u1", '
    b'"timestamp": "2026-05-01T12:00:00Z", "sentAt": "0001-01-01T00:00:00Z"}',
    "sent-at-max": b'{"type": "track", "event": "Spin", "userId": "u1", '
    b'"timestamp": "0001-01-01T00:00:00Z", "sentAt": "9999-12-31T23:59:59Z"}',
}  # fmt: skip


@pytest.mark.parametrize("case", SEGMENT_BAD)
def test_segment_drops_a_bad_message_alone(
    case: str, client: TestClient, project: ProjectKey, clean_database: Engine, logged: Any
) -> None:
    body = segment_batch(SEGMENT_BAD[case])
    answer = answered(client.post("/v1/batch", content=body, headers=basic(project.key)), 200)
    assert answer.json() == {"success": True}
    assert counts(clean_database, project.id) == (3, 3)


def posthog_batch(key: bytes, bad: bytes) -> bytes:
    events = [
        {"event": "Spin", "distinct_id": "u1", "uuid": f"0000000{i}-0000-4000-8000-000000000000",
         "timestamp": "2026-05-01T12:00:00Z", "properties": spin(i)}
        for i in range(3)
    ]  # fmt: skip
    parts = b",".join([*map(orjson.dumps, events), bad])
    return (
        b'{"api_key": ' + key + b', "sent_at": "2026-05-01T12:00:05Z", "batch": [' + parts + b"]}"
    )


POSTHOG_BAD = {
    "surrogate-property": b'{"event": "Spin", "distinct_id": "u1", "properties": {"a": "\\ud800"}}',
    "invalid-utf8-distinct-id": b'{"event": "Spin", "distinct_id": "u\xff"}',
    "offset-1e20": b'{"event": "Spin", "distinct_id": "u1", "offset": 1e20}',
    "deep-1000": b'{"event": "Spin", "distinct_id": "u1", "x": ' + deep(1000) + b"}",
    "offset-minus-1e20": b'{"event": "Spin", "distinct_id": "u1", "offset": -1e20}',
    "timestamp-max": b'{"event": "Spin", "distinct_id": "u1", '
    b'"timestamp": "9999-12-31T23:59:59-14:00"}',
    "timestamp-min-with-sent-at": b'{"event": "Spin", "distinct_id": "u1", '
    b'"timestamp": "0001-01-01T00:00:00Z"}',
    "nan-property": b'{"event": "Spin", "distinct_id": "u1", "properties": {"a": NaN}}',
}  # fmt: skip


@pytest.mark.parametrize("case", POSTHOG_BAD)
def test_posthog_drops_a_bad_event_alone(
    case: str, client: TestClient, project: ProjectKey, clean_database: Engine, logged: Any
) -> None:
    body = posthog_batch(orjson.dumps(project.key), POSTHOG_BAD[case])
    answer = answered(client.post("/batch/", content=body), 200)
    assert answer.json() == {"status": 1}
    assert counts(clean_database, project.id) == (3, 3)


@pytest.mark.parametrize(
    "key",
    [SURROGATE, b'"ra_\\udc00"', b'"\xff\xfe"', b'"\\u0000"', b'"' + b"k" * 5000 + b'"', b"[]"],
)
def test_posthog_garbage_key_is_401(
    key: bytes, client: TestClient, project: ProjectKey, clean_database: Engine, logged: Any
) -> None:
    body = posthog_batch(key, b'{"event": "Spin", "distinct_id": "u1"}')
    answer = answered(client.post("/batch/", content=body), 401)
    assert answer.text.startswith("API key is not valid")
    assert counts(clean_database, project.id) == (0, 0)


def test_mixpanel_import_stores_the_rest_and_names_the_bad_event(
    client: TestClient, project: ProjectKey, clean_database: Engine, logged: Any
) -> None:
    good = [
        orjson.dumps({"event": "Spin", "properties": {"distinct_id": "u1", "$insert_id": f"mp-{i}",
                                                      "time": 1777636800 + i, **spin(i)}})
        for i in range(3)
    ]  # fmt: skip
    bad = b'{"event": "Spin", "properties": {"distinct_id": "\\ud800", "time": 1777636800}}'
    huge = b'{"event": "Spin", "properties": {"distinct_id": "u1", "time": 1e20}}'
    body = b"\n".join([good[0], bad, good[1], huge, good[2]])
    answer = answered(client.post("/import", content=body, headers=basic(project.key)), 400)
    failed = answer.json()["failed_records"]
    assert [(f["index"], f["field"]) for f in failed] == [
        (1, "properties.distinct_id"),
        (3, "properties.time"),
    ]
    assert failed[0]["message"] == UNREADABLE
    assert answer.json()["num_records_imported"] == 3
    assert counts(clean_database, project.id) == (3, 3)


def test_amplitude_names_the_bad_event_as_amplitude_does(
    client: TestClient, project: ProjectKey, clean_database: Engine, logged: Any
) -> None:
    # Amplitude refuses a request with an invalid event whole and names it; its library then
    # resends the other events, which are stored.
    events = [
        {"event_type": "Spin", "user_id": "u1", "insert_id": f"amp-{i}",
         "time": 1777636800000 + i, "event_properties": spin(i)}
        for i in range(3)
    ]  # fmt: skip
    bad = b'{"event_type": "Spin", "user_id": "u1", "time": 1e300}'
    body = (
        b'{"api_key": ' + orjson.dumps(project.key) + b', "events": ['
        + b",".join([orjson.dumps(events[0]), bad, *map(orjson.dumps, events[1:])]) + b"]}"
    )  # fmt: skip
    answer = answered(client.post("/2/httpapi", content=body), 400)
    assert answer.json()["events_with_invalid_fields"] == {"time": [1]}
    resent = {"api_key": project.key, "events": events}
    answered(client.post("/2/httpapi", json=resent), 200)
    assert counts(clean_database, project.id) == (3, 3)


def test_mixpanel_track_names_the_bad_event(
    client: TestClient, project: ProjectKey, clean_database: Engine, logged: Any
) -> None:
    data = (
        b'[{"event": "Spin", "properties": {"token": ' + orjson.dumps(project.key)
        + b', "distinct_id": "u1"}}, {"event": "\\ud800", "properties": {"token": '
        + orjson.dumps(project.key) + b', "distinct_id": "u1"}}]'
    )  # fmt: skip
    form = {"data": base64.b64encode(data).decode(), "verbose": "1"}
    answer = answered(client.post("/track", data=form), 400)
    assert answer.json() == {"status": 0, "error": f"event 1: event: {UNREADABLE}"}
