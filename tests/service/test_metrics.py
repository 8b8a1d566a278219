"""`/metrics` in Prometheus text format: ingestion answers, the audit queue and the webhook
deliveries."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from service.audits import jobs
from service.storage.db import make_sessionmaker, transaction
from service.webhooks import endpoints
from service.webhooks.outbox import announce
from tests.service.conftest import ProjectKey
from tests.service.factories import native_batch, native_event


def samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_ingestion_answers_and_queue_are_counted(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    key = ("retention_audit_events_total", (("source", "native"), ("status", "accepted")))
    rejected = ("retention_audit_events_total", (("source", "native"), ("status", "rejected")))
    before = samples(client)
    client.post(
        "/v1/events", json=[*native_batch(5), native_event(9, kind="x")], headers=project.auth
    )
    after = samples(client)
    assert after[key] - before.get(key, 0.0) == 5
    assert after[rejected] - before.get(rejected, 0.0) == 1
    with transaction(make_sessionmaker(clean_database)) as session:
        jobs.enqueue(session, project_id=project.id, request={})
        jobs.enqueue(session, project_id=project.id, request={})
    queue = samples(client)
    assert queue[("retention_audit_audits", (("status", "queued"),))] == 2
    assert queue[("retention_audit_oldest_queued_audit_age_seconds", ())] >= 0


def test_webhook_deliveries_are_counted_by_status(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    with transaction(make_sessionmaker(clean_database)) as session:
        for n in range(3):
            endpoints.create_endpoint(
                session, project_id=project.id, url=f"http://127.0.0.1:9/{n}",
                events=["audit.failed"], allow_private=True,
            )  # fmt: skip
        announce(session, project_id=project.id, event_type="audit.failed", data={})
    counted = samples(client)
    name = "retention_audit_webhook_deliveries"
    assert counted[(name, (("status", "pending"),))] == 3
    assert counted[(name, (("status", "failed"),))] == 0
