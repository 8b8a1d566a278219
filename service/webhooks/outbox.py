"""The outbox: events to announce, written in the transaction that causes them.

An event becomes one message (its body fixed, so every retry signs the same bytes) and one
pending delivery per endpoint of the project subscribed to its type; the workers deliver them
(`service.webhooks.delivery`). Nothing is written when no endpoint listens.

An audit's end is `audit.<its final status>`; each finding of a new report that the project's
previous report lacks (`service.reports.diff`) is a `finding.new` of its own.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.reports.chain import load_report, previous_audit_id
from service.reports.diff import diff_reports
from service.storage.tables import WebhookDelivery, WebhookEndpoint, WebhookMessage

# An audit's end is announced as `audit.<its final status>`.
AUDIT_EVENTS = ("audit.succeeded", "audit.failed", "audit.empty")
FINDING_NEW = "finding.new"
EVENT_TYPES = (*AUDIT_EVENTS, FINDING_NEW)
PENDING = "pending"


def _instant(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def subscribed(session: Session, project_id: int, event_type: str) -> list[int]:
    """The project's endpoints that want `event_type`."""
    rows = session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.events)
        .where(WebhookEndpoint.project_id == project_id)
        .order_by(WebhookEndpoint.id)
    ).all()
    return [row.id for row in rows if event_type in row.events.split(",")]


def announce(
    session: Session, *, project_id: int, event_type: str, data: dict[str, Any]
) -> str | None:
    """Queue `{"type", "timestamp", "data"}` for the endpoints subscribed to `event_type`; the
    message's id (its `webhook-id`), or None when no endpoint listens."""
    endpoints = subscribed(session, project_id, event_type)
    if not endpoints:
        return None
    now = datetime.now(UTC)
    message_id = f"msg_{uuid.uuid4().hex}"
    body = orjson.dumps({"type": event_type, "timestamp": _instant(now), "data": data})
    session.add(
        WebhookMessage(
            id=message_id,
            project_id=project_id,
            event_type=event_type,
            body=body.decode(),
            created_at=now,
        )
    )
    session.flush()
    session.add_all(
        WebhookDelivery(
            message_id=message_id,
            endpoint_id=endpoint_id,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint_id in endpoints
    )
    session.flush()
    return message_id


def announce_audit_end(
    session: Session,
    *,
    project_id: int,
    audit_id: str,
    status: str,
    error: str | None,
    reason: str | None,
) -> str | None:
    """Queue `audit.<status>` for an audit that has just ended (`reason`: why it is empty)."""
    return announce(
        session,
        project_id=project_id,
        event_type=f"audit.{status}",
        data={
            "project_id": project_id,
            "audit_id": audit_id,
            "status": status,
            "error": error,
            "reason": reason,
        },
    )


def announce_new_findings(
    session: Session, *, project_id: int, audit_id: str, report: dict[str, Any]
) -> list[str]:
    """Queue a `finding.new` for each finding of the audit's just stored `report` that the
    project's previous report of the same scope lacks (none for the first report of a scope:
    a finding on a mechanic the earlier audits did not look at is not new); their message
    ids."""
    if not subscribed(session, project_id, FINDING_NEW):
        return []
    previous = previous_audit_id(session, project_id, audit_id)
    before = None if previous is None else load_report(session, previous)
    if before is None:
        return []
    announced = []
    for finding in diff_reports(before, report).new_findings:
        data = {
            "project_id": project_id,
            "audit_id": audit_id,
            "previous_audit_id": previous,
            "finding": finding,
        }
        message_id = announce(session, project_id=project_id, event_type=FINDING_NEW, data=data)
        if message_id is not None:
            announced.append(message_id)
    return announced
