"""Audits over HTTP: queue, run, report, per-user pages, verification, HTTP = offline CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text, update

from models import synthetic
from service.storage.db import make_sessionmaker, transaction
from service.storage.tables import Report
from tests.service.conftest import ProjectKey, finish_audit
from tests.service.servers import BIN

VOLATILE = {"id", "created_at", "digest", "previous_report_digest"}


def demo_events() -> list[dict[str, Any]]:
    return synthetic.demo_native_events(seed=7)


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return demo_events()


def post_events(client: TestClient, project: ProjectKey, events: list[dict[str, Any]]) -> None:
    for start in range(0, len(events), 5000):
        response = client.post(
            "/v1/events", json=events[start : start + 5000], headers=project.auth
        )
        assert response.status_code == 200
        assert response.json()["rejected"] == 0, response.json()


def audit(
    client: TestClient, project: ProjectKey, engine: Engine, **request: Any
) -> dict[str, Any]:
    queued = client.post("/v1/audits", json=request, headers=project.auth)
    assert queued.status_code == 202, queued.text
    assert queued.json()["status"] == "queued"
    done = finish_audit(client, project, engine, queued.json()["id"])
    assert done["status"] == "succeeded", done
    return done


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in VOLATILE | {"user_results"}}


def test_http_audit_equals_offline_cli(
    client: TestClient,
    project: ProjectKey,
    clean_database: Engine,
    events: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    post_events(client, project, events)
    report = audit(client, project, clean_database)["report"]
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events))
    offline = json.loads(
        subprocess.run(
            [str(BIN / "retention-audit"), "audit", str(path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    assert comparable(offline) == comparable(report)
    assert offline["input"]["digest"] == report["input"]["digest"]


def test_report_contract_and_user_pages(
    client: TestClient, project: ProjectKey, clean_database: Engine, events: list[dict[str, Any]]
) -> None:
    post_events(client, project, events)
    done = audit(client, project, clean_database)
    report = done["report"]
    for key in ("engine_version", "rules_version", "config", "input", "mechanics", "findings",
                "previous_report_digest", "digest"):  # fmt: skip
        assert key in report
    assert report["input"]["events"] == len(events)
    assert report["rules_version"] == client.get("/v1/rules").json()["version"]
    kinds = {m["mechanic"]: m["schedule"]["kind"] for m in report["mechanics"]}
    assert kinds["slots"] == "variable_ratio"
    # Page through every user row with a small page size and check nothing repeats.
    seen: list[tuple[str, str]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 7}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"/v1/audits/{done['id']}/users", params=params, headers=project.auth)
        body = page.json()
        seen += [(row["mechanic"], row["user_id"]) for row in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == sum(m["users"]["count"] for m in report["mechanics"])
    row = body["items"][-1] if body["items"] else None
    assert row is not None
    for key in ("user_id", "mechanic", "responses", "alpha", "alpha_ci", "beta", "b_delta",
                "risk_tier", "markers"):  # fmt: skip
        assert key in row
    high = client.get(
        f"/v1/audits/{done['id']}/users",
        params={"mechanic": "slots", "risk_tier": "high"},
        headers=project.auth,
    ).json()["items"]
    assert all(r["mechanic"] == "slots" and r["risk_tier"] == "high" for r in high)
    listed = client.get("/v1/audits", headers=project.auth).json()
    assert [a["id"] for a in listed["items"]] == [done["id"]]


def test_bad_audit_requests_are_named(client: TestClient, project: ProjectKey) -> None:
    for body, field in (
        ({"config": {"session_gap_s": -5}}, "session_gap_s"),
        ({"config": {"rules": {"no-such-rule.x": 1}}}, "rules"),
        ({"from": "2026-05-02T00:00:00Z", "to": "2026-05-01T00:00:00Z"}, "from"),
        ({"bogus": 1}, "bogus"),
    ):
        response = client.post("/v1/audits", json=body, headers=project.auth)
        assert response.status_code == 422, (body, response.text)
        assert field in response.text


def test_chain_and_tamper_detection(
    client: TestClient, project: ProjectKey, clean_database: Engine, events: list[dict[str, Any]]
) -> None:
    post_events(client, project, events[:3000])
    first = audit(client, project, clean_database)
    second = audit(client, project, clean_database)
    assert second["report"]["previous_report_digest"] == first["report"]["digest"]
    verdict = client.get(f"/v1/audits/{second['id']}/verify", headers=project.auth).json()
    assert verdict["valid"] is True
    assert verdict["reports_checked"] == 2
    # Alter the first report's stored JSON behind the service's back.
    with transaction(make_sessionmaker(clean_database)) as session:
        body = session.get(Report, first["id"])
        assert body is not None
        altered = body.body.replace('"status":"succeeded"', '"status":"succeeded "')
        assert altered != body.body
        session.execute(update(Report).where(Report.audit_id == first["id"]).values(body=altered))
    verdict = client.get(f"/v1/audits/{second['id']}/verify", headers=project.auth).json()
    assert verdict["valid"] is False
    assert first["id"] in verdict["problems"][0]["problem"]


def test_erasure_removes_a_user_from_results(
    client: TestClient, project: ProjectKey, clean_database: Engine, events: list[dict[str, Any]]
) -> None:
    post_events(client, project, events[:3000])
    done = audit(client, project, clean_database)
    rows = client.get(f"/v1/audits/{done['id']}/users", headers=project.auth).json()["items"]
    victim = rows[0]["user_id"]
    erased = client.delete(f"/v1/projects/{project.id}/users/{victim}", headers=project.auth)
    assert erased.status_code == 200
    assert erased.json()["events"] > 0
    with clean_database.connect() as connection:
        left = connection.execute(
            text("SELECT count(*) FROM audit_user WHERE user_id = :u"), {"u": victim}
        ).scalar()
    assert left == 0
    assert client.get(f"/v1/audits/{done['id']}/verify", headers=project.auth).json()["valid"]
