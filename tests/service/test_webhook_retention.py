"""Webhook messages are kept for `RETENTION_AUDIT_WEBHOOK_RETENTION_DAYS` once all their
deliveries have ended, then deleted with their deliveries and attempts; a message still being
delivered is kept however old. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update

from service.storage.db import make_sessionmaker, transaction
from service.storage.tables import WebhookAttempt, WebhookDelivery, WebhookMessage
from service.webhooks import endpoints
from service.webhooks.delivery import DeliveryPolicy, prune_expired
from service.webhooks.outbox import announce
from tests.service.conftest import ProjectKey

NOW = datetime.now(UTC)


def test_ended_messages_past_their_retention_are_pruned(
    project: ProjectKey, clean_database: Engine
) -> None:
    factory = make_sessionmaker(clean_database)
    with transaction(factory) as session:
        endpoints.create_endpoint(
            session, project_id=project.id, url="https://93.184.216.34/hooks",
            events=["audit.failed"], allow_private=False,
        )  # fmt: skip
        ages_and_statuses = {  # message id: (age in days, its delivery's status)
            announce(session, project_id=project.id, event_type="audit.failed", data={}): case
            for case in ((40, "succeeded"), (40, "failed"), (40, "pending"), (10, "succeeded"))
        }
    with transaction(factory) as session:
        for message_id, (age, status) in ages_and_statuses.items():
            old = NOW - timedelta(days=age)
            session.execute(
                update(WebhookMessage).where(WebhookMessage.id == message_id).values(created_at=old)
            )
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.message_id == message_id)
                .values(status=status)
            )
            (delivery_id,) = session.scalars(
                select(WebhookDelivery.id).where(WebhookDelivery.message_id == message_id)
            )
            session.add(
                WebhookAttempt(
                    delivery_id=delivery_id, number=1, started_at=old, duration_ms=5,
                    status_code=200,
                )
            )  # fmt: skip
    assert prune_expired(factory, policy=DeliveryPolicy(retention_days=30)) == 2
    with factory() as session:
        kept = {
            ages_and_statuses[m] for m in session.scalars(select(WebhookMessage.id))
        }  # fmt: skip
        deliveries = len(list(session.scalars(select(WebhookDelivery.id))))
        attempts = len(list(session.scalars(select(WebhookAttempt.number))))
    assert kept == {(40, "pending"), (10, "succeeded")}
    assert (deliveries, attempts) == (2, 2)
    assert prune_expired(factory, policy=DeliveryPolicy(retention_days=30)) == 0
    assert prune_expired(factory, policy=DeliveryPolicy(retention_days=5)) == 1  # the recent one
