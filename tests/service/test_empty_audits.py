"""An audit over nothing never reports success over HTTP: no events, a mechanic or a window
that matches none end `empty` with a reason naming the scope, with no report and no place in
the chain; so does a scope naming a mechanic that matches none beside others that match."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from service.storage.db import make_sessionmaker
from service.storage.tables import Report
from tests.service.conftest import ProjectKey, finish_audit
from tests.service.factories import native_batch
from tests.service.test_metrics import samples

FINISHED_EMPTY = ("retention_audit_audits_finished_total", (("status", "empty"),))


def run(client: TestClient, project: ProjectKey, engine: Engine, **request: Any) -> dict[str, Any]:
    queued = client.post("/v1/audits", json=request, headers=project.auth)
    assert queued.status_code == 202, queued.text
    return finish_audit(client, project, engine, queued.json()["id"])


def reports(engine: Engine) -> int:
    with make_sessionmaker(engine)() as session:
        return int(session.scalar(select(func.count()).select_from(Report)) or 0)


@pytest.mark.parametrize(
    ("request_", "named"),
    [
        ({}, "all mechanics, all time"),
        ({"mechanics": ["spinn"]}, "mechanics 'spinn', all time"),
        (
            {"from": "2020-01-01T00:00:00Z", "to": "2020-02-01T00:00:00Z"},
            "all mechanics, from 2020-01-01T00:00:00+00:00 to 2020-02-01T00:00:00+00:00",
        ),
    ],
    ids=["no-events", "typo-mechanic", "window-before-events"],
)
def test_an_audit_over_nothing_ends_empty_with_its_scope_named(
    client: TestClient,
    project: ProjectKey,
    clean_database: Engine,
    request_: dict[str, Any],
    named: str,
) -> None:
    if request_:  # the project has events, none in the scope
        response = client.post("/v1/events", json=native_batch(40), headers=project.auth)
        assert response.json()["accepted"] == 40
    before = samples(client).get(FINISHED_EMPTY, 0.0)
    done = run(client, project, clean_database, **request_)
    assert done["status"] == "empty", done
    assert done["reason"] == f"no events matched the audit's scope ({named})"
    assert done["error"] is None
    assert done["report"] is None
    assert "verification" not in done
    assert reports(clean_database) == 0
    assert samples(client)[FINISHED_EMPTY] - before == 1
    assert samples(client)[("retention_audit_audits", (("status", "empty"),))] == 1
    refused = client.get(f"/v1/audits/{done['id']}/report.html", headers=project.auth)
    assert refused.status_code == 409
    assert named in refused.json()["detail"]
    listed = client.get("/v1/audits", headers=project.auth).json()["items"]
    assert [(a["status"], a["reason"]) for a in listed] == [("empty", done["reason"])]


def test_an_empty_audit_leaves_the_chain_whole(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    client.post("/v1/events", json=native_batch(40), headers=project.auth)
    first = run(client, project, clean_database)
    empty = run(client, project, clean_database, mechanics=["nope"])
    last = run(client, project, clean_database)
    assert [first["status"], empty["status"], last["status"]] == ["succeeded", "empty", "succeeded"]
    assert last["report"]["previous_report_digest"] == first["report"]["digest"]
    assert reports(clean_database) == 2
    verdict = client.get(f"/v1/audits/{last['id']}/verify", headers=project.auth).json()
    assert verdict["valid"] is True, verdict
    assert verdict["reports_checked"] == 2
    assert verdict["problems"] == []
    # an empty audit has no report to verify
    missing = client.get(f"/v1/audits/{empty['id']}/verify", headers=project.auth)
    assert missing.status_code == 404


def test_a_partly_matching_scope_ends_empty_naming_every_mechanic_that_matched_nothing(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    client.post("/v1/events", json=native_batch(40), headers=project.auth)
    before = samples(client).get(FINISHED_EMPTY, 0.0)
    done = run(client, project, clean_database, mechanics=["slots", "spinn", "nope"])
    assert done["status"] == "empty", done
    assert done["reason"] == (
        "no events matched mechanic(s) 'nope', 'spinn' of the audit's scope "
        "(mechanics 'nope', 'slots', 'spinn', all time)"
    )
    assert done["report"] is None
    assert reports(clean_database) == 0
    assert samples(client)[FINISHED_EMPTY] - before == 1
    whole = run(client, project, clean_database, mechanics=["slots"])
    assert whole["status"] == "succeeded"
    assert "unmatched" not in whole["report"]["window"]
    assert whole["report"]["previous_report_digest"] is None  # the empty audit is not chained
