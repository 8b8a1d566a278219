"""Webhooks end to end, on SQLite and PostgreSQL: endpoints registered through the API, an
audit's end announced to a real receiver on loopback (allowed by the setting here), signatures
checked with the `standardwebhooks` package, retries with their attempts, and refusals."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from service.api.webhooks import EVENTS
from service.app import create_app
from service.audits import jobs
from service.storage.db import make_sessionmaker, transaction
from service.storage.tables import WebhookDelivery, WebhookMessage
from service.webhooks.delivery import LOST, DeliveryPolicy, claim, deliver_due
from service.webhooks.outbox import EVENT_TYPES, announce
from tests.service.conftest import ProjectKey, finish_audit, settings_for
from tests.service.factories import native_batch
from tests.service.receivers import Receiver, receiver

FAST = DeliveryPolicy(allow_private=True, timeout_s=5.0, retry_base_s=0.05, retry_max_s=0.2)


@pytest.fixture
def app(clean_database: Engine, database_url: str) -> FastAPI:
    """Loopback receivers allowed; deliveries made by the test itself, not a worker thread."""
    settings = settings_for(database_url, webhook_allow_private=True, run_audits_in_process=False)
    return create_app(settings)


def deliver_until(
    engine: Engine, hook: Receiver, successes: int, policy: DeliveryPolicy = FAST
) -> None:
    factory = make_sessionmaker(engine)

    def done(r: Receiver) -> bool:
        deliver_due(factory, worker="test-worker", policy=policy)
        return len(r.successes()) >= successes

    hook.wait_for(done, timeout=30.0)


def register(client: TestClient, project: ProjectKey, url: str, *events: str) -> dict[str, Any]:
    created = client.post(
        f"/v1/projects/{project.id}/webhooks",
        json={"url": url, "events": list(events)},
        headers=project.auth,
    )
    assert created.status_code == 201, created.text
    answer: dict[str, Any] = created.json()
    return answer


def audit(client: TestClient, project: ProjectKey, engine: Engine) -> str:
    queued = client.post("/v1/audits", json={}, headers=project.auth)
    assert queued.status_code == 202, queued.text
    done = finish_audit(client, project, engine, queued.json()["id"])
    assert done["status"] == "succeeded", done
    audit_id: str = done["id"]
    return audit_id


def deliveries(client: TestClient, project: ProjectKey, webhook_id: int) -> list[dict[str, Any]]:
    answer = client.get(
        f"/v1/projects/{project.id}/webhooks/{webhook_id}/deliveries", headers=project.auth
    )
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def test_each_audit_end_reaches_a_real_receiver_signed_as_standard_webhooks(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    with receiver() as hook:
        endpoint = register(client, project, hook.url, "audit.succeeded", "audit.failed")
        assert endpoint["secret"].startswith("whsec_")
        assert client.post("/v1/events", json=native_batch(400), headers=project.auth).is_success
        first = audit(client, project, clean_database)
        more = native_batch(200, start=400)
        assert client.post("/v1/events", json=more, headers=project.auth).is_success
        second = audit(client, project, clean_database)
        deliver_until(clean_database, hook, successes=2)

    verifier = Webhook(endpoint["secret"])
    announced = []
    for got in hook.received:
        payload = verifier.verify(got.body, got.headers)  # raises on a bad signature
        assert payload["type"] == "audit.succeeded"
        assert payload["data"]["project_id"] == project.id
        announced.append(payload["data"]["audit_id"])
        assert got.headers["webhook-id"].startswith("msg_")
        assert got.headers["content-type"] == "application/json"
        with pytest.raises(WebhookVerificationError):  # the check can fail: a changed body
            verifier.verify(got.body.replace(b"succeeded", b"failed"), got.headers)
    assert sorted(announced) == sorted([first, second])
    assert len(hook.received) == 2

    made = deliveries(client, project, endpoint["id"])
    assert [d["status"] for d in made] == ["succeeded", "succeeded"]
    assert [[a["status_code"] for a in d["attempts"]] for d in made] == [[200], [200]]
    listed = client.get(f"/v1/projects/{project.id}/webhooks", headers=project.auth).json()
    assert listed == [{k: v for k, v in endpoint.items() if k != "secret"}]


def test_a_failing_receiver_is_retried_until_it_takes_the_message_once(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    with receiver(answers=[500, 503]) as hook:
        endpoint = register(client, project, hook.url, "audit.succeeded")
        assert client.post("/v1/events", json=native_batch(400), headers=project.auth).is_success
        audit(client, project, clean_database)
        deliver_until(clean_database, hook, successes=1)
        deliver_due(make_sessionmaker(clean_database), worker="test-worker", policy=FAST)

    assert [r.answered for r in hook.received] == [500, 503, 200]
    assert len({r.headers["webhook-id"] for r in hook.received}) == 1  # one message, retried
    assert len({r.body for r in hook.received}) == 1
    (made,) = deliveries(client, project, endpoint["id"])
    assert made["status"] == "succeeded"
    assert [a["number"] for a in made["attempts"]] == [1, 2, 3]
    assert [a["status_code"] for a in made["attempts"]] == [500, 503, 200]
    assert [a["error"] is None for a in made["attempts"]] == [False, False, True]


def test_a_delivery_is_given_up_after_its_last_attempt(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    policy = DeliveryPolicy(allow_private=True, retry_base_s=0.01, retry_max_s=0.01, max_attempts=2)
    factory = make_sessionmaker(clean_database)
    with receiver(answers=[500] * 10) as hook:
        endpoint = register(client, project, hook.url, "audit.succeeded")
        assert client.post("/v1/events", json=native_batch(400), headers=project.auth).is_success
        audit(client, project, clean_database)
        hook.wait_for(lambda r: deliver_due(factory, worker="w", policy=policy) == 0 and
                      len(r.received) == 2)  # fmt: skip
    (made,) = deliveries(client, project, endpoint["id"])
    assert made["status"] == "failed"
    assert [a["status_code"] for a in made["attempts"]] == [500, 500]
    assert made["next_attempt_at"] is None


def test_redirects_are_not_followed(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    factory = make_sessionmaker(clean_database)
    with receiver(answers=[302], location="http://169.254.169.254/latest") as hook:
        endpoint = register(client, project, hook.url, "audit.succeeded")
        assert client.post("/v1/events", json=native_batch(400), headers=project.auth).is_success
        audit(client, project, clean_database)
        once = DeliveryPolicy(allow_private=True, retry_base_s=600.0)
        assert deliver_due(factory, worker="w", policy=once) == 1
    (made,) = deliveries(client, project, endpoint["id"])
    assert made["status"] == "pending"
    (attempt,) = made["attempts"]
    assert (attempt["status_code"], attempt["error"]) == (302, "redirects are not followed")
    assert len(hook.received) == 1


def test_an_audit_end_is_announced_in_its_own_transaction_or_not_at_all(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    register(client, project, "http://127.0.0.1:9/hooks", "audit.failed")
    factory = make_sessionmaker(clean_database)
    with transaction(factory) as session:
        audit_id = jobs.enqueue(session, project_id=project.id, request={}).id
    with transaction(factory) as session:
        claim = jobs.claim(session, worker="w")
        assert claim is not None
        assert claim.audit_id == audit_id

    class Abort(Exception):
        pass

    def fail_then_abort() -> None:
        with transaction(factory) as session:
            jobs.fail(session, audit_id=audit_id, worker="w", error="boom")
            raise Abort  # the audit stays running: nothing may be announced

    with pytest.raises(Abort):
        fail_then_abort()
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(WebhookMessage)) == 0
    with transaction(factory) as session:
        jobs.fail(session, audit_id=audit_id, worker="w", error="boom")
    with factory() as session:
        (message,) = session.scalars(select(WebhookMessage))
        body = orjson.loads(message.body)
    assert body["type"] == "audit.failed"
    assert body["data"] == {
        "project_id": project.id, "audit_id": audit_id, "status": "failed", "error": "boom",
        "reason": None,
    }  # fmt: skip


def test_nothing_is_written_for_an_event_no_endpoint_wants(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    register(client, project, "http://127.0.0.1:9/hooks", "audit.failed")
    with transaction(make_sessionmaker(clean_database)) as session:
        wanted = announce(session, project_id=project.id, event_type="audit.failed", data={})
        unwanted = announce(session, project_id=project.id, event_type="audit.succeeded", data={})
    assert wanted is not None
    assert unwanted is None


def test_backoff_is_exponential_with_full_jitter() -> None:
    policy = DeliveryPolicy(retry_base_s=2.0, retry_max_s=60.0)
    rng = random.Random(7)
    for attempt, ceiling in ((1, 2.0), (2, 4.0), (3, 8.0), (5, 32.0), (6, 60.0), (12, 60.0)):
        waits = [policy.backoff_s(attempt, rng) for _ in range(2000)]
        assert 0.0 <= min(waits) < 0.02 * ceiling  # full jitter: down to nothing
        assert 0.98 * ceiling < max(waits) <= ceiling  # and up to the exponential ceiling
        assert abs(sum(waits) / len(waits) - ceiling / 2) < 0.05 * ceiling


def test_a_leased_delivery_whose_worker_died_is_taken_again(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    factory = make_sessionmaker(clean_database)
    with receiver() as hook:
        endpoint = register(client, project, hook.url, "audit.succeeded")
        assert client.post("/v1/events", json=native_batch(400), headers=project.auth).is_success
        audit(client, project, clean_database)
        now = datetime.now(UTC)
        with transaction(factory) as session:  # a worker took it, then died before sending
            assert claim(session, worker="dead", lease_s=3600.0, max_attempts=10) is not None
        assert deliver_due(factory, worker="w", policy=FAST) == 0  # its lease holds
        with transaction(factory) as session:
            session.execute(
                update(WebhookDelivery).values(lease_expires_at=now - timedelta(seconds=1))
            )
        deliver_until(clean_database, hook, successes=1)
    (made,) = deliveries(client, project, endpoint["id"])
    assert made["status"] == "succeeded"
    assert [(a["number"], a["status_code"], a["error"]) for a in made["attempts"]] == [
        (1, None, LOST), (2, 200, None)
    ]  # fmt: skip


def test_the_api_offers_the_events_the_outbox_announces() -> None:
    assert list(EVENT_TYPES) == EVENTS


def test_an_empty_audit_is_announced_as_empty_with_its_reason(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    with receiver() as hook:
        register(client, project, hook.url, "audit.empty", "audit.succeeded")
        assert client.post("/v1/events", json=native_batch(40), headers=project.auth).is_success
        queued = client.post("/v1/audits", json={"mechanics": ["spinn"]}, headers=project.auth)
        done = finish_audit(client, project, clean_database, queued.json()["id"])
        assert done["status"] == "empty"
        deliver_until(clean_database, hook, successes=1)
    (got,) = hook.received
    payload = orjson.loads(got.body)
    assert payload["type"] == "audit.empty"
    assert payload["data"]["audit_id"] == done["id"]
    assert payload["data"]["reason"] == done["reason"]
    assert "spinn" in payload["data"]["reason"]


def test_a_delivery_whose_workers_died_in_its_last_attempt_is_given_up(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    factory = make_sessionmaker(clean_database)
    policy = DeliveryPolicy(allow_private=True, max_attempts=3)
    with receiver() as hook:
        endpoint = register(client, project, hook.url, "audit.succeeded")
        assert client.post("/v1/events", json=native_batch(400), headers=project.auth).is_success
        audit(client, project, clean_database)
        with transaction(factory) as session:  # its third worker died mid-attempt
            session.execute(
                update(WebhookDelivery).values(
                    status="delivering",
                    lease_owner="dead",
                    attempts=3,
                    lease_expires_at=datetime.now(UTC) - timedelta(seconds=1),
                )
            )
        assert deliver_due(factory, worker="w", policy=policy) == 0
    assert hook.received == []
    (made,) = deliveries(client, project, endpoint["id"])
    assert (made["status"], made["attempts"]) == ("failed", [])
    assert made["finished_at"] is not None
