"""Webhook deliveries made by real worker processes (`retention-audit worker`): a receiver
that fails twice then succeeds gets exactly one successful delivery after two logged failures,
although the worker that made the first attempt is killed (SIGKILL) before the next one and a
new worker carries on. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from service.app import create_app
from service.audits import jobs
from service.storage.db import make_sessionmaker, transaction
from service.storage.tables import WebhookAttempt, WebhookDelivery
from service.webhooks import endpoints
from service.webhooks.delivery import IN_PROGRESS
from tests.service.conftest import make_project, settings_for
from tests.service.receivers import receiver
from tests.service.test_workers import wait_for, worker


def attempts_made(engine: Engine) -> int:
    """How many attempts have ended."""
    with make_sessionmaker(engine)() as session:
        ended = WebhookAttempt.error.is_distinct_from(IN_PROGRESS)
        return session.scalar(select(func.count()).where(ended)) or 0


def test_a_killed_worker_between_attempts_loses_nothing_and_doubles_nothing(
    clean_database: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the workers inherit these
    monkeypatch.setenv("RETENTION_AUDIT_WEBHOOK_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("RETENTION_AUDIT_WEBHOOK_TIMEOUT_S", "2")
    # the first worker waits long after a failure (below 10 min, at random), so it is killed
    # between its attempts; its successor retries within a second
    monkeypatch.setenv("RETENTION_AUDIT_WEBHOOK_RETRY_BASE_S", "600")
    project = make_project(clean_database)
    factory = make_sessionmaker(clean_database)
    with receiver(answers=[500, 500]) as hook:
        with transaction(factory) as session:
            endpoint, _ = endpoints.create_endpoint(
                session, project_id=project.id, url=hook.url, events=["audit.failed"],
                allow_private=True,
            )  # fmt: skip
            audit_id = jobs.enqueue(session, project_id=project.id, request={}).id
        with transaction(factory) as session:  # an audit ends: its webhook is in the outbox
            assert jobs.claim(session, worker="test") is not None
            jobs.fail(session, audit_id=audit_id, worker="test", error="no events")

        with worker(database_url) as first:
            wait_for(lambda: attempts_made(clean_database) == 1, timeout=60)
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
        assert [r.answered for r in hook.received] == [500]  # killed before the next attempt
        with factory() as session:
            delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts, delivery.lease_owner) == ("pending", 1, None)
        with transaction(factory) as session:  # the wait it drew has passed
            session.execute(update(WebhookDelivery).values(next_attempt_at=datetime.now(UTC)))
        monkeypatch.setenv("RETENTION_AUDIT_WEBHOOK_RETRY_BASE_S", "1")
        with worker(database_url):
            hook.wait_for(lambda r: len(r.successes()) == 1, timeout=60)
            wait_for(lambda: attempts_made(clean_database) == 3, timeout=30)

    assert [r.answered for r in hook.received] == [500, 500, 200]
    assert len({r.headers["webhook-id"] for r in hook.received}) == 1
    app = create_app(settings_for(database_url, run_audits_in_process=False))
    with TestClient(app) as client:
        answer = client.get(
            f"/v1/projects/{project.id}/webhooks/{endpoint.id}/deliveries", headers=project.auth
        )
    (made,) = answer.json()
    assert made["status"] == "succeeded"
    assert [(a["number"], a["status_code"]) for a in made["attempts"]] == [
        (1, 500), (2, 500), (3, 200)
    ]  # fmt: skip
