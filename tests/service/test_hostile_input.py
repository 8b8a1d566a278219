"""Hostile input over real HTTP: no request is answered 500, nothing logs a traceback, and a bad
event is rejected alone while the rest of its batch is stored.

Deep nesting, numbers beyond the double range, timestamps at the edges of the calendar, lone
surrogates and invalid UTF-8, NUL characters, implausible amounts, on every route that reads
a body or a query; then the last-resort answer to an unexpected error.
"""

from __future__ import annotations

import base64
import gzip
import logging
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.api import events as events_route
from service.app import create_app
from tests.service.conftest import ADMIN_KEY, ProjectKey, settings_for
from tests.service.factories import native_event
from tests.service.hostile import (
    NON_FINITE,
    NUL,
    SURROGATE,
    TOO_DEEP,
    UNREADABLE,
    answered,
    deep,
    native_count,
)
from tests.service.test_adapter_common import basic, counts

# --- deep nesting, on every route that takes a body --------------------------------------------


def _routes(
    project: ProjectKey,
) -> dict[str, tuple[str, str, dict[str, str], Callable[[bytes], bytes]]]:
    """route name → (method, path, headers, body around a nested value)."""
    json_type = {"Content-Type": "application/json"}
    auth = project.auth | json_type
    return {
        "native": ("POST", "/v1/events", auth, lambda v: b'[{"properties": {"a": ' + v + b"}}]"),
        "native-ndjson": ("POST", "/v1/events", auth, lambda v: b'{"x": ' + v + b"}\n"),
        "native-no-key": ("POST", "/v1/events", json_type, lambda v: b"[" + v + b"]"),
        "segment": (
            "POST", "/v1/batch", basic(project.key) | json_type,
            lambda v: b'{"batch": [{"type": "track", "properties": ' + v + b"}]}",
        ),
        "segment-no-key": ("POST", "/v1/track", json_type, lambda v: b'{"properties": ' + v + b"}"),
        "posthog": ("POST", "/batch/", json_type, lambda v: b'{"batch": [' + v + b"]}"),
        "amplitude": ("POST", "/2/httpapi", json_type, lambda v: b'{"events": [' + v + b"]}"),
        "mixpanel-track": ("POST", "/track", json_type, lambda v: v),
        "mixpanel-import": ("POST", "/import", basic(project.key) | json_type, lambda v: v),
        "audits": ("POST", "/v1/audits", auth, lambda v: b'{"config": {"x": ' + v + b"}}"),
        "mappings": (
            "PUT", f"/v1/projects/{project.id}/mappings", auth, lambda v: b'{"rules": ' + v + b"}",
        ),
        "project-patch": (
            "PATCH", f"/v1/projects/{project.id}", auth, lambda v: b'{"time_zone": ' + v + b"}",
        ),
        "project-create": (
            "POST", "/v1/projects", {"Authorization": f"Bearer {ADMIN_KEY}"} | json_type,
            lambda v: b'{"name": ' + v + b"}",
        ),
        "keys": (
            "POST", f"/v1/projects/{project.id}/keys", auth, lambda v: b'{"name": ' + v + b"}",
        ),
    }  # fmt: skip


# A route without a key answers 401 before it reads anything; every other route refuses a
# body deeper than the parser reads (orjson: 1,024 levels) with 400, in its vendor's shape.
DEEP_STATUS = {"native-no-key": 401}
ROUTES = [
    "native", "native-ndjson", "native-no-key", "segment", "segment-no-key", "posthog",
    "amplitude", "mixpanel-track", "mixpanel-import", "audits", "mappings", "project-patch",
    "project-create", "keys",
]  # fmt: skip
MANAGEMENT = ["audits", "mappings", "project-patch", "project-create", "keys"]


@pytest.mark.parametrize("depth", [1025, 1100, 100_000])
@pytest.mark.parametrize("route", ROUTES)
def test_a_body_deeper_than_the_parser_reads_is_refused_on_every_route(
    route: str,
    depth: int,
    client: TestClient,
    project: ProjectKey,
    clean_database: Engine,
    logged: pytest.LogCaptureFixture,
) -> None:
    method, path, headers, body = _routes(project)[route]
    response = answered(
        client.request(method, path, content=body(deep(depth)), headers=headers),
        DEEP_STATUS.get(route, 400),
    )
    if route in ("native", "native-ndjson", *MANAGEMENT):
        assert "depth limit exceeded" in response.json()["detail"]
    assert counts(clean_database, project.id) == (0, 0)


@pytest.mark.parametrize("depth", [65, 700, 1000])
@pytest.mark.parametrize("route", MANAGEMENT)
def test_a_management_body_nested_too_deep_is_422(
    route: str, depth: int, client: TestClient, project: ProjectKey, logged: Any
) -> None:
    method, path, headers, body = _routes(project)[route]
    response = answered(
        client.request(method, path, content=body(deep(depth)), headers=headers), 422
    )
    assert "nest at most 64 levels" in response.json()["detail"]


def test_properties_nested_to_the_limit_are_kept(
    client: TestClient, project: ProjectKey, clean_database: Engine, logged: Any
) -> None:
    # The properties object and 63 nested arrays: 64 levels, the limit; one more is too deep.
    nested: Any = 1
    for _ in range(63):
        nested = [nested]
    batch = [native_event(1, properties={"a": nested}), native_event(3, properties={"a": [nested]})]
    answer = answered(client.post("/v1/events", json=batch, headers=project.auth), 200).json()
    assert [r["status"] for r in answer["results"]] == ["accepted", "rejected"]
    assert answer["results"][1]["field"] == "properties.a" + "[0]" * 63
    assert native_count(clean_database, project.id) == 1


# --- native events: one bad event is rejected alone ---------------------------------------------


# name → (the JSON text of the bad event, the field named, the reason)
BAD_NATIVE: dict[str, tuple[bytes, str, str]] = {}


def _bad_native(name: str, field: str, reason: str, **overrides: Any) -> None:
    event = native_event(2, **{k: "MARK" for k in overrides if k != "properties"})
    if "properties" in overrides:
        event["properties"] = {"p": "MARK"}
    raw = next(iter(overrides.values()))
    text = orjson.dumps(event)
    BAD_NATIVE[name] = (text.replace(b'"MARK"', raw), field, reason)


_bad_native("surrogate-property", "properties.p", UNREADABLE, properties=SURROGATE)
_bad_native("surrogate-user", "user_id", UNREADABLE, user_id=SURROGATE)
_bad_native("surrogate-mechanic", "mechanic", UNREADABLE, mechanic=b'"slots\\udfff"')
_bad_native("surrogate-message-id", "message_id", UNREADABLE, message_id=SURROGATE)
_bad_native("surrogate-pair-reversed", "user_id", UNREADABLE, user_id=b'"\\udc00\\ud800"')
_bad_native("invalid-utf8-property", "properties.p", UNREADABLE, properties=b'"a\xff\xfeb"')
_bad_native("invalid-utf8-user", "user_id", UNREADABLE, user_id=b'"\xed\xa0\x80"')
_bad_native("nul-property", "properties.p", NUL, properties=b'"a\\u0000"')
_bad_native("nul-user", "user_id", NUL, user_id=b'"u\\u0000"')
_bad_native("nul-mechanic", "mechanic", NUL, mechanic=b'"\\u0000"')
_bad_native("nul-option", "option", NUL, option=b'"a\\u0000b"')
_bad_native("nul-session", "session_id", NUL, session_id=b'"\\u0000"')
_bad_native("nan-property", "properties.p", NON_FINITE, properties=b"NaN")
_bad_native("deep-65-property", "properties.p" + "[0]" * 63, TOO_DEEP, properties=deep(65))
_bad_native("deep-1000-property", "properties.p" + "[0]" * 63, TOO_DEEP, properties=deep(1000))
_bad_native("long-text-property", "properties.p", "at most 1048576 characters",
            properties=b'"' + b"x" * (1024 * 1024 + 1) + b'"')  # fmt: skip
_bad_native("infinity-property", "properties.p", NON_FINITE, properties=b"-Infinity")
_bad_native("huge-float-property", "properties.p", NON_FINITE, properties=b"1e999")
_bad_native("int-4301-digits-property", "properties.p", NON_FINITE, properties=b"9" * 4301)
_bad_native("int-401-digits-property", "properties.p", NON_FINITE, properties=b"1" * 401)
_bad_native("int-401-digits-value", "value", NON_FINITE, value=b"1" * 401)
_bad_native("nan-value", "value", NON_FINITE, value=b"NaN")
_bad_native("value-too-large", "value", "|value| must be at most 1e+09", value=b"1e10")
_bad_native("timestamp-max-minus-14h", "timestamp", "years 1 to 9999",
            timestamp=b'"9999-12-31T23:59:59-14:00"')  # fmt: skip
_bad_native("timestamp-min-plus-14h", "timestamp", "years 1 to 9999",
            timestamp=b'"0001-01-01T00:00:00+14:00"')  # fmt: skip
_bad_native("timestamp-offset-20h", "timestamp", "within ±14 h",
            timestamp=b'"2026-05-01T12:00:00+20:00"')  # fmt: skip
_bad_native("timestamp-epoch-1e300", "timestamp", "out of range", timestamp=b"1e300")
_bad_native("timestamp-surrogate", "timestamp", UNREADABLE, timestamp=SURROGATE)
_bad_native("timezone-at-max", "timestamp", "future",
            timestamp=b'"9999-12-31T23:59:59Z"')  # fmt: skip


def _cost_too_large() -> None:
    event = native_event(2, cost=2e9)
    BAD_NATIVE["cost-too-large"] = (orjson.dumps(event), "cost", "cost must be at most 1e+09")


_cost_too_large()


@pytest.mark.parametrize("shape", ["array", "ndjson", "gzip-ndjson"])
@pytest.mark.parametrize("case", BAD_NATIVE)
def test_a_bad_native_event_is_rejected_alone(
    case: str,
    shape: str,
    client: TestClient,
    project: ProjectKey,
    clean_database: Engine,
    logged: Any,
) -> None:
    bad, field, reason = BAD_NATIVE[case]
    good = [orjson.dumps(native_event(i)) for i in (0, 1, 3, 4)]
    lines = [*good[:2], bad, *good[2:]]
    joined = b",".join(lines) if shape == "array" else b"\n".join(lines) + b"\n"
    body = b"[" + joined + b"]" if shape == "array" else joined
    if shape == "gzip-ndjson":
        body = gzip.compress(body)
    answer = answered(client.post("/v1/events", content=body, headers=project.auth), 200).json()
    assert (answer["accepted"], answer["duplicate"], answer["rejected"]) == (4, 0, 1)
    rejected = answer["results"][2]
    assert (rejected["index"], rejected["status"], rejected["field"]) == (2, "rejected", field)
    assert reason in rejected["reason"]
    assert native_count(clean_database, project.id) == 4


def test_the_bounds_on_amounts_are_the_operators(
    clean_database: Engine, database_url: str, project: ProjectKey, logged: Any
) -> None:
    settings = settings_for(database_url, max_abs_value=100.0, max_cost=5.0)
    with TestClient(create_app(settings)) as client:
        batch = [
            native_event(1, value=100.0),
            native_event(3, value=-100.5),
            native_event(0, cost=5.0),
            native_event(2, cost=5.01),
        ]
        answer = answered(client.post("/v1/events", json=batch, headers=project.auth), 200)
    statuses = [(r["status"], r.get("field")) for r in answer.json()["results"]]
    assert statuses == [
        ("accepted", None),
        ("rejected", "value"),
        ("accepted", None),
        ("rejected", "cost"),
    ]
    assert native_count(clean_database, project.id) == 2


# --- authentication comes before the body --------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/v1/events", {"Authorization": "Bearer ra_not-a-key"}),
        ("/v1/events", {}),
        ("/v1/batch", basic("ra_not-a-key")),
        ("/v1/track", basic("\xff")),
        ("/import", basic("ra_not-a-key")),
    ],
)
def test_a_bad_key_is_refused_before_the_body_is_read(
    path: str, headers: dict[str, str], client: TestClient, project: ProjectKey, logged: Any
) -> None:
    answered(client.post(path, content=deep(5000) + b"\xff garbage", headers=headers), 401)


# --- NUL and other garbage in URLs and in the framework's JSON bodies ----------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/v1/audits?mechanic=a%00",
        "/v1/audits?cursor=%00",
        "/v1/audits/a%00",
        "/v1/audits/a%00/users",
        "/v1/audits/x/users?mechanic=a%00&risk_tier=high",
        "/v1/projects/1/stats?x=%00",
        "/track?data=%00&verbose=1",
    ],
)
def test_nul_in_a_url_is_400(
    url: str, client: TestClient, project: ProjectKey, logged: Any
) -> None:
    answer = answered(client.get(url, headers=project.auth), 400)
    assert answer.json()["error"] == "BadRequest"
    assert "NUL" in answer.json()["detail"]


def _cursor(parts: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(parts)).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor", [_cursor(["a\x00", "b"]), _cursor(["not a time", "x"]), _cursor([1, 2]), "%%%"]
)
def test_a_forged_cursor_is_422(
    cursor: str, client: TestClient, project: ProjectKey, logged: Any
) -> None:
    answer = answered(
        client.get("/v1/audits", params={"cursor": cursor}, headers=project.auth), 422
    )
    assert answer.json()["detail"].startswith("cursor:")


@pytest.mark.parametrize(
    ("route", "text"),
    [
        ("audits", b'{"mechanics": ["a\\u0000"]}'),
        ("audits", b'{"mechanics": ["\\ud800"]}'),
        ("audits", b'{"mechanics": ["slots"], "from": "0001-01-01T00:00:00+14:00"}'),
        ("audits", b'{"mechanics": ["slots"], "to": "9999-12-31T23:59:59-14:00"}'),
        ("audits", b'{"config": {"session_gap_s": ' + b"9" * 4301 + b"}}"),
        ("audits", b'{"config": {"session_gap_s": NaN}}'),
        ("mappings", b'{"rules": [{"event_name": "Spin\\u0000", "mechanic": "slots", '
                     b'"kind": "response"}]}'),
        ("mappings", b'{"rules": [{"event_name": "Spin", "mechanic": "\\udfff", '
                     b'"kind": "response"}]}'),
        ("project-patch", b'{"time_zone": "Europe/Berlin\\u0000"}'),
        ("project-patch", b'{"time_zone": "\\ud800"}'),
        ("project-create", b'{"name": "a\\u0000"}'),
        ("project-create", b'{"name": "a\xff"}'),
        ("keys", b'{"name": "\\u0000"}'),
    ],
)  # fmt: skip
def test_text_no_column_can_store_is_refused_in_management_bodies(
    route: str,
    text: bytes,
    client: TestClient,
    project: ProjectKey,
    clean_database: Engine,
    logged: Any,
) -> None:
    method, path, headers, _ = _routes(project)[route]
    answer = answered(client.request(method, path, content=text, headers=headers), 422)
    assert answer.json()["error"] in ("InvalidInput", "ValidationError")


# --- request ids and the last-resort answer -----------------------------------------------------


def test_every_response_carries_a_request_id_and_a_sane_one_is_kept(
    client: TestClient, project: ProjectKey, logged: Any
) -> None:
    kept = client.get("/v1/rules", headers={"X-Request-ID": "abc-123.x"})
    assert kept.headers["x-request-id"] == "abc-123.x"
    for insane in ("x" * 65, "a b", "<script>"):
        fresh = client.get("/healthz", headers={"X-Request-ID": insane})
        assert fresh.headers["x-request-id"] not in ("", insane)
        assert len(fresh.headers["x-request-id"]) == 32
    refused = answered(client.post("/v1/events", content=b"[]"), 401)
    assert refused.headers["x-request-id"] != kept.headers["x-request-id"]


def test_an_unexpected_error_is_a_json_500_with_the_request_id(
    client: TestClient,
    project: ProjectKey,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the store is on fire")

    monkeypatch.setattr(events_route, "ingest", broken)
    caplog.set_level(logging.INFO)
    answer = client.post(
        "/v1/events",
        json=[native_event(0)],
        headers=project.auth | {"X-Request-ID": "req-42"},
    )
    assert answer.status_code == 500
    assert answer.headers["x-request-id"] == "req-42"
    body = answer.json()
    assert set(body) == {"error", "detail", "request_id"}
    assert (body["error"], body["request_id"]) == ("InternalError", "req-42")
    assert "on fire" not in body["detail"]  # internals stay in the log
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1
    assert "req-42" in tracebacks[0].getMessage()
    assert tracebacks[0].exc_info is not None
    assert isinstance(tracebacks[0].exc_info[1], RuntimeError)
