"""Every route's scope, found by calling it, equals the README's API table; and a key grants
only the scopes it holds. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.projects.keys import Scope
from tests.service.conftest import ADMIN_KEY, ProjectKey, finish_audit
from tests.service.factories import native_batch
from tests.service.test_adapter_common import (
    amplitude_request,
    basic,
    extra_key,
    mixpanel_events,
    mixpanel_import_request,
    posthog_request,
    segment_request,
)

README = Path(__file__).resolve().parents[2] / "README.md"
# What a caller presents: no key, a key of one scope, or the admin key.
CALLERS = ("—", "ingest", "read", "manage", "admin key")


def readme_scopes() -> dict[tuple[str, str], str]:
    """(METHOD, path with `{}` for each parameter) → scope, from the README's API table."""
    text = README.read_text()
    table = text[text.index("| route | key scope | what |") :]
    table = table[: table.index("\n\n")]
    out: dict[tuple[str, str], str] = {}
    for line in table.splitlines()[2:]:
        routes, scope = (cell.strip() for cell in line.strip("|").split("|")[:2])
        for span in re.findall(r"`([^`]+)`", routes):
            methods, path = span.split(" ", 1)
            for method in methods.split("/"):
                key = (method, _shape(path))
                assert key not in out, f"{key} is twice in the README's API table"
                out[key] = scope
    return out


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def vendor_request(method: str, path: str, key: str | None) -> dict[str, Any] | None:
    """The request a vendor's SDK sends to `path`, carrying `key` where that vendor puts it."""
    k = key or ""
    if path == "/v1/batch":
        _, request = segment_request(k)
    elif path.startswith("/v1/") and path.count("/") == 2 and path != "/v1/events":
        message_type = path.rsplit("/", 1)[1]
        if message_type in ("audits", "rules", "projects"):
            return None
        message = {"type": message_type, "userId": "u1", "messageId": f"seg-{message_type}",
                   "timestamp": "2026-05-01T12:00:00Z", "event": "Spin"}  # fmt: skip
        request = {"json": message, "headers": basic(k)}
    elif path in ("/batch/", "/capture/", "/e/", "/i/v0/e/"):
        _, request = posthog_request(k)
    elif path == "/2/httpapi":
        _, request = amplitude_request(k)
    elif path == "/track":
        data = json.dumps(mixpanel_events(key, 2))
        if method == "GET":
            return {"params": {"data": data, "verbose": "1"}}
        return {"data": {"data": data, "verbose": "1"}}
    elif path == "/import":
        _, request = mixpanel_import_request(k)
    else:
        return None
    if key is None:
        request.pop("headers", None)
    return request


class Walk:
    """Real data, one key per scope, and a well-formed request for every route."""

    def __init__(self, client: TestClient, project: ProjectKey, engine: Engine) -> None:
        self.client = client
        self.project = project
        self.engine = engine
        self.keys: dict[str, str | None] = {
            "—": None,
            **{str(scope): extra_key(engine, project.id, scope) for scope in Scope},
            "admin key": ADMIN_KEY,
        }
        assert client.post("/v1/events", json=native_batch(400), headers=project.auth).is_success
        # two audits: the second has one before it to be compared with (`/diff`)
        for _ in range(2):
            queued = client.post("/v1/audits", json={}, headers=project.auth).json()
            done = finish_audit(client, project, engine, queued["id"])
            assert done["status"] == "succeeded", done
        self.audit_id = queued["id"]

    def values(self, name: str) -> str:
        if name == "project_id":
            return str(self.project.id)
        if name == "audit_id":
            return self.audit_id
        if name == "user_id":
            return "u3"
        if name == "key_id":  # a key made to be revoked
            created = self.client.post(
                f"/v1/projects/{self.project.id}/keys", json={}, headers=self.project.auth
            )
            return str(created.json()["id"])
        raise AssertionError(f"no value for the path parameter {name!r}")

    def call(self, method: str, template: str, caller: str) -> int:
        path = re.sub(r"\{([^}]+)\}", lambda m: self.values(m.group(1)), template)
        key = self.keys[caller]
        request = vendor_request(method, path, key)
        if request is None:
            request = {"headers": {"Authorization": f"Bearer {key}"} if key else {}}
            request.update(_BODIES.get((method, _shape(template)), {}))
        return self.client.request(method, path, **request).status_code


_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/events"): {"json": native_batch(2, start=1000)},
    ("POST", "/v1/audits"): {"json": {}},
    ("POST", "/v1/projects"): {"json": {"name": "walked"}},
    ("PATCH", "/v1/projects/{}"): {"json": {"time_zone": None}},
    ("POST", "/v1/projects/{}/keys"): {"json": {"scopes": ["manage"]}},
    ("PUT", "/v1/projects/{}/mappings"): {"json": {"rules": []}},
}


def test_every_route_needs_the_scope_the_readme_names(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    walk = Walk(client, project, clean_database)
    documented = readme_scopes()
    found: dict[tuple[str, str], str] = {}
    for template, operations in client.app.openapi()["paths"].items():  # type: ignore[attr-defined]
        for method in operations:
            method = method.upper()
            answers = {caller: walk.call(method, template, caller) for caller in CALLERS}
            admitted = [caller for caller, code in answers.items() if 200 <= code < 300]
            refused = {code for caller, code in answers.items() if caller not in admitted}
            assert refused <= {400, 401, 403}, (method, template, answers)
            # an open route admits everyone; any other exactly one kind of caller
            scope = "—" if "—" in admitted else admitted[0] if len(admitted) == 1 else None
            assert scope is not None, (method, template, answers)
            if scope == "—":
                assert admitted == list(CALLERS), (method, template, answers)
            found[(method, _shape(template))] = scope
    assert found == documented


def test_the_readme_table_reads_as_routes() -> None:
    documented = readme_scopes()
    assert documented[("GET", "/v1/projects/{}/mappings")] == "read"
    assert documented[("PUT", "/v1/projects/{}/mappings")] == "manage"
    assert documented[("POST", "/v1/audits")] == "read"
    assert documented[("GET", "/track")] == documented[("POST", "/track")] == "ingest"
    assert set(documented.values()) == set(CALLERS)


@pytest.mark.parametrize(
    ("holds", "grants", "status"),
    [
        ((Scope.MANAGE,), ["manage"], 201),
        ((Scope.MANAGE,), ["read"], 403),
        ((Scope.MANAGE,), ["manage", "ingest"], 403),
        ((Scope.MANAGE, Scope.READ), ["read"], 201),
        ((Scope.MANAGE, Scope.READ, Scope.INGEST), ["ingest", "read", "manage"], 201),
    ],
)
def test_a_key_grants_only_scopes_it_holds(
    holds: tuple[Scope, ...],
    grants: list[str],
    status: int,
    client: TestClient,
    project: ProjectKey,
    clean_database: Engine,
) -> None:
    key = extra_key(clean_database, project.id, *holds)
    answer = client.post(
        f"/v1/projects/{project.id}/keys",
        json={"name": "minted", "scopes": grants},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == status, answer.text
    if status == 403:
        lacking = sorted(set(grants) - {str(s) for s in holds})
        assert answer.json()["detail"].endswith("lacks " + ", ".join(lacking))
    else:
        assert sorted(answer.json()["scopes"]) == sorted(grants)
