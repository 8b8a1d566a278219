"""A review pipeline's webhooks, on SQLite and PostgreSQL: audit a product (A), ingest a
change (a paid slot machine), audit again (B); a real receiver on loopback (allowed by the
setting here) gets both `audit.succeeded` and a `finding.new` for each finding B has and A
lacks, among them the slot machine's `variable-ratio-reward`, every one signed as Standard
Webhooks specifies (checked with the `standardwebhooks` package)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from standardwebhooks.webhooks import Webhook

from service.app import create_app
from service.storage.db import make_sessionmaker
from service.webhooks.delivery import DeliveryPolicy, deliver_due
from tests.service.conftest import ProjectKey, settings_for
from tests.service.factories import product_change
from tests.service.receivers import Receiver, receiver
from tests.service.test_audits_api import audit, post_events

NEW = ("variable-ratio-reward", "slots")
POLICY = DeliveryPolicy(allow_private=True, retry_base_s=0.05, retry_max_s=0.2)


@pytest.fixture
def app(clean_database: Engine, database_url: str) -> FastAPI:
    settings = settings_for(database_url, webhook_allow_private=True, run_audits_in_process=False)
    return create_app(settings)


def register(
    client: TestClient, project: ProjectKey, url: str, events: list[str]
) -> dict[str, Any]:
    created = client.post(
        f"/v1/projects/{project.id}/webhooks",
        json={"url": url, "events": events},
        headers=project.auth,
    )
    assert created.status_code == 201, created.text
    endpoint: dict[str, Any] = created.json()
    return endpoint


def key(finding: dict[str, Any]) -> tuple[str, str]:
    return finding["rule_id"], finding["mechanic"]


def test_a_receiver_hears_both_audits_and_the_new_finding(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    product_a, slots = product_change()
    factory = make_sessionmaker(clean_database)
    with receiver() as hook:
        endpoint = register(client, project, hook.url, ["audit.succeeded", "finding.new"])
        post_events(client, project, product_a)
        a = audit(client, project, clean_database)["report"]
        post_events(client, project, slots)
        b = audit(client, project, clean_database)["report"]
        diff = client.get(f"/v1/audits/{b['id']}/diff", headers=project.auth).json()
        expected = 2 + len(diff["new_findings"])

        def delivered(r: Receiver) -> bool:
            deliver_due(factory, worker="test-worker", policy=POLICY)
            return len(r.successes()) >= expected

        hook.wait_for(delivered, timeout=60)

    assert NEW in {key(f) for f in diff["new_findings"]}
    assert NEW not in {key(f) for f in a["findings"]}
    verifier = Webhook(endpoint["secret"])
    payloads = [verifier.verify(got.body, got.headers) for got in hook.received]
    assert len(payloads) == expected  # each once
    by_type: dict[str, list[dict[str, Any]]] = {}
    for payload in payloads:
        by_type.setdefault(payload["type"], []).append(payload["data"])
    assert sorted(d["audit_id"] for d in by_type["audit.succeeded"]) == sorted([a["id"], b["id"]])
    news = by_type["finding.new"]
    assert {(d["audit_id"], d["previous_audit_id"]) for d in news} == {(b["id"], a["id"])}
    assert sorted(key(d["finding"]) for d in news) == sorted(key(f) for f in diff["new_findings"])
    vr = next(d["finding"] for d in news if key(d["finding"]) == NEW)
    assert vr == next(f for f in b["findings"] if key(f) == NEW)  # as the report holds it
    assert len({got.headers["webhook-id"] for got in hook.received}) == expected


def test_audits_of_other_scopes_are_not_the_previous_report(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    # A over all mechanics, P over the quests only, then the slot machine arrives and B audits
    # all again: B's previous report is A (P looked at no daily reward), and P against A
    # compares the quests only
    product_a, slots = product_change()
    factory = make_sessionmaker(clean_database)
    with receiver() as hook:
        endpoint = register(client, project, hook.url, ["finding.new"])
        post_events(client, project, product_a)
        a = audit(client, project, clean_database)["report"]
        p = audit(client, project, clean_database, mechanics=["quests"])["report"]
        post_events(client, project, slots)
        b = audit(client, project, clean_database)["report"]
        diff = client.get(f"/v1/audits/{b['id']}/diff", headers=project.auth).json()
        assert diff["before_id"] == a["id"]
        assert {f["mechanic"] for f in diff["new_findings"]} == {"slots"}
        assert diff["resolved_findings"] == diff["scope_changed"] == []

        def delivered(r: Receiver) -> bool:
            deliver_due(factory, worker="test-worker", policy=POLICY)
            return len(r.successes()) >= len(diff["new_findings"])

        hook.wait_for(delivered, timeout=60)

    daily = {key(f) for f in a["findings"] if f["mechanic"] == "daily_reward"}
    assert daily  # A has findings on the daily reward, which P did not look at
    first = client.get(f"/v1/audits/{p['id']}/diff", headers=project.auth)
    assert first.status_code == 409  # P is the first report over the quests alone
    narrowed = client.get(
        f"/v1/audits/{p['id']}/diff", params={"against": a["id"]}, headers=project.auth
    ).json()
    assert narrowed["scope_changed"] == ["mechanics"]
    assert narrowed["compared_mechanics"] == ["quests"]
    assert narrowed["resolved_findings"] == narrowed["new_findings"] == []
    assert narrowed["schedule_changes"] == []
    summary = client.get(f"/v1/audits/{b['id']}/summary.md", headers=project.auth).text
    assert f"## Changes since the previous audit (`{a['id']}`)" in summary
    payloads = [Webhook(endpoint["secret"]).verify(g.body, g.headers) for g in hook.received]
    assert sorted(key(d["data"]["finding"]) for d in payloads) == sorted(
        key(f) for f in diff["new_findings"]
    )
    assert {d["data"]["previous_audit_id"] for d in payloads} == {a["id"]}
