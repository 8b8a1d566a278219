"""A project's webhook endpoints: registered (URL checked, secret made and shown once),
listed, removed; and the deliveries made to each, with their attempts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import InvalidInput, NotFound
from service.storage.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from service.webhooks import signing
from service.webhooks.addresses import resolve
from service.webhooks.outbox import EVENT_TYPES

# Endpoints one project may register.
MAX_ENDPOINTS = 20


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def create_endpoint(
    session: Session,
    *,
    project_id: int,
    url: str,
    events: Sequence[str],
    allow_private: bool,
) -> tuple[WebhookEndpoint, str]:
    """Register `url` for `events`; the row and its secret (not shown again)."""
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown or not events:
        raise InvalidInput(
            f"events: {', '.join(unknown) or 'none given'}; choose from {', '.join(EVENT_TYPES)}"
        )
    resolve(url, allow_private=allow_private)
    registered = list_endpoints(session, project_id)
    if len(registered) >= MAX_ENDPOINTS:
        raise InvalidInput(f"project {project_id} has {MAX_ENDPOINTS} endpoints, the most it may")
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(
        project_id=project_id,
        url=url,
        events=",".join(sorted(set(events))),
        secret=secret,
        created_at=datetime.now(UTC),
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def list_endpoints(session: Session, project_id: int) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.project_id == project_id)
            .order_by(WebhookEndpoint.id)
        )
    )


def get_endpoint(session: Session, *, project_id: int, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.project_id != project_id:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    return endpoint


def delete_endpoint(session: Session, *, project_id: int, endpoint_id: int) -> None:
    """Remove the endpoint, and with it its deliveries, made or pending."""
    session.delete(get_endpoint(session, project_id=project_id, endpoint_id=endpoint_id))
    session.flush()


def endpoint_view(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": endpoint.events.split(","),
        "created_at": _instant(endpoint.created_at),
    }


def list_deliveries(
    session: Session, *, project_id: int, endpoint_id: int, limit: int
) -> list[dict[str, Any]]:
    """The endpoint's newest `limit` deliveries, each with its attempts in order."""
    get_endpoint(session, project_id=project_id, endpoint_id=endpoint_id)
    rows = session.execute(
        select(WebhookDelivery, WebhookMessage.event_type)
        .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(limit)
    ).all()
    attempts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    ids = [delivery.id for delivery, _ in rows]
    for attempt in session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(ids))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)
    ):
        attempts[attempt.delivery_id].append(
            {
                "number": attempt.number,
                "started_at": _instant(attempt.started_at),
                "duration_ms": attempt.duration_ms,
                "status_code": attempt.status_code,
                "error": attempt.error,
            }
        )
    return [
        {
            "id": delivery.id,
            "message_id": delivery.message_id,
            "event_type": event_type,
            "status": delivery.status,
            "attempts": attempts[delivery.id],
            "next_attempt_at": _instant(delivery.next_attempt_at)
            if delivery.status == "pending"
            else None,
            "created_at": _instant(delivery.created_at),
            "finished_at": _instant(delivery.finished_at),
        }
        for delivery, event_type in rows
    ]
