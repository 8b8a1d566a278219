"""Durable audit jobs, queued in the database.

An audit is claimed by one worker at a time through a lease: a conditional UPDATE (and, on
PostgreSQL, `FOR UPDATE SKIP LOCKED` so that workers never queue behind each other). The
worker renews the lease while it runs; if it dies, the lease expires and another worker picks
the audit up again. Finishing is fenced: only the lease holder can store the report, in the
same transaction that marks the audit succeeded, so an audit gets exactly one report. That
transaction also writes the audit's end to the webhooks' outbox (`service.webhooks.outbox`),
so an end is announced exactly when it happens.

The queue is fair between projects: a worker serves the project with the fewest running audits
first (among those, the one whose oldest audit has waited longest), then that project's oldest
audit; so one project's many audits never hold back another's. A project may have at most a
configured number of audits queued or running (`admit`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from service.errors import AppError, NotFound
from service.storage.tables import Audit, Project
from service.webhooks.outbox import announce_audit_end

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
# the audit's scope matched no event: it has no report and does not join the chain
EMPTY = "empty"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED, EMPTY)
# an audit in one of these has ended and will not change again
FINISHED = frozenset({SUCCEEDED, FAILED, EMPTY})
# A worker that has not renewed its lease for this long is presumed dead.
DEFAULT_LEASE_S = 60.0
# An audit whose worker died this many times is failed rather than retried forever.
MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Claim:
    audit_id: str
    project_id: int
    request: dict[str, Any]
    attempt: int


class AuditQueueFull(AppError):
    """The project has as many audits queued or running as it may."""

    status_code = 429


def admit(session: Session, *, project_id: int, limit: int) -> None:
    """Raise `AuditQueueFull` if the project already has `limit` audits queued or running.

    Takes the project's row (NO KEY UPDATE: ingestion's KEY SHARE lock does not wait for it)
    until the transaction ends, so requests racing for the last place are counted one at a time.
    """
    session.execute(
        select(Project.id).where(Project.id == project_id).with_for_update(key_share=True)
    )
    in_flight = session.scalar(
        select(func.count())
        .select_from(Audit)
        .where(Audit.project_id == project_id, Audit.status.in_((QUEUED, RUNNING)))
    )
    if in_flight is not None and in_flight >= limit:
        raise AuditQueueFull(
            f"project {project_id} has {in_flight} audits queued or running, the most it may"
            " have; queue another when one has finished",
            extra={"in_flight": in_flight, "limit": limit},
        )


def enqueue(session: Session, *, project_id: int, request: dict[str, Any]) -> Audit:
    audit = Audit(
        id=str(uuid.uuid4()),
        project_id=project_id,
        status=QUEUED,
        request=request,
        progress={"stage": "queued", "done": 0, "total": 0},
        attempts=0,
        created_at=datetime.now(UTC),
    )
    session.add(audit)
    session.flush()
    return audit


def _claimable(now: datetime) -> Any:
    return or_(
        Audit.status == QUEUED,
        (Audit.status == RUNNING) & (Audit.lease_expires_at < now),
    )


def _projects_in_turn(session: Session, now: datetime) -> list[int]:
    """Projects with claimable audits: fewest running audits first, then longest waiting."""
    waiting = session.execute(
        select(Audit.project_id, func.min(Audit.created_at))
        .where(_claimable(now))
        .group_by(Audit.project_id)
    ).all()
    if not waiting:
        return []
    running_rows = session.execute(
        select(Audit.project_id, func.count())
        .where(Audit.status == RUNNING, Audit.lease_expires_at >= now)
        .group_by(Audit.project_id)
    ).all()
    running = {row[0]: int(row[1]) for row in running_rows}
    turns = sorted(waiting, key=lambda row: (running.get(row[0], 0), row[1], row[0]))
    return [project_id for project_id, _ in turns]


def _next_of(session: Session, project_id: int, now: datetime) -> str | None:
    """The project's oldest claimable audit that no other worker is claiming."""
    query = (
        select(Audit.id)
        .where(Audit.project_id == project_id, _claimable(now))
        .order_by(Audit.created_at)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalar(query)


def claim(session: Session, *, worker: str, lease_s: float = DEFAULT_LEASE_S) -> Claim | None:
    """Take the next audit in fair turn (see the module's doc), or one whose worker's lease
    expired; None when there is none."""
    while True:
        now = datetime.now(UTC)
        audit_id = next(
            (
                found
                for project_id in _projects_in_turn(session, now)
                if (found := _next_of(session, project_id, now)) is not None
            ),
            None,
        )
        if audit_id is None:
            return None
        taken = session.execute(
            update(Audit)
            .where(Audit.id == audit_id, _claimable(now))
            .values(
                status=RUNNING,
                lease_owner=worker,
                lease_expires_at=now + timedelta(seconds=lease_s),
                attempts=Audit.attempts + 1,
                started_at=now,
                error=None,
            )
            .returning(Audit.project_id, Audit.request, Audit.attempts)
        ).first()
        if taken is None:  # another worker won the race; look again
            continue
        if taken.attempts > MAX_ATTEMPTS:
            _finish(session, audit_id, worker, FAILED, error=f"abandoned by {MAX_ATTEMPTS} workers")
            continue
        return Claim(audit_id, taken.project_id, dict(taken.request), taken.attempts)


def renew(
    session: Session,
    *,
    audit_id: str,
    worker: str,
    progress: dict[str, Any] | None = None,
    lease_s: float = DEFAULT_LEASE_S,
) -> bool:
    """Extend the lease (and record progress); False when the lease was lost."""
    values: dict[str, Any] = {"lease_expires_at": datetime.now(UTC) + timedelta(seconds=lease_s)}
    if progress is not None:
        values["progress"] = progress
    result = session.execute(
        update(Audit)
        .where(Audit.id == audit_id, Audit.lease_owner == worker, Audit.status == RUNNING)
        .values(**values)
        .returning(Audit.id)
    )
    return result.first() is not None


class LeaseLost(RuntimeError):
    """The worker no longer holds the audit (its lease expired and another took it)."""


def _finish(
    session: Session,
    audit_id: str,
    worker: str,
    status: str,
    *,
    error: str | None = None,
    reason: str | None = None,
) -> None:
    values: dict[str, Any] = {
        "status": status,
        "finished_at": datetime.now(UTC),
        "lease_expires_at": None,
        "error": error,
        "reason": reason,
    }
    if status in (SUCCEEDED, EMPTY):
        values["progress"] = {"stage": "done", "done": 1, "total": 1}
    result = session.execute(
        update(Audit)
        .where(Audit.id == audit_id, Audit.lease_owner == worker, Audit.status == RUNNING)
        .values(**values)
        .returning(Audit.project_id)
    )
    finished = result.first()
    if finished is None:
        raise LeaseLost(f"audit {audit_id} is no longer held by {worker}")
    # announced in the transaction that ends the audit: both happen, or neither
    announce_audit_end(
        session,
        project_id=finished.project_id,
        audit_id=audit_id,
        status=status,
        error=error,
        reason=reason,
    )


def succeed(session: Session, *, audit_id: str, worker: str) -> None:
    """Mark the audit done; call in the transaction that stores its report."""
    _finish(session, audit_id, worker, SUCCEEDED)


def empty(session: Session, *, audit_id: str, worker: str, reason: str) -> None:
    """Mark the audit `empty`: its scope matched no event (`reason` names the scope)."""
    _finish(session, audit_id, worker, EMPTY, reason=reason)


def fail(session: Session, *, audit_id: str, worker: str, error: str) -> None:
    _finish(session, audit_id, worker, FAILED, error=error)


def get_audit(session: Session, *, project_id: int, audit_id: str) -> Audit:
    audit = session.get(Audit, audit_id)
    if audit is None or audit.project_id != project_id:
        raise NotFound(f"no audit {audit_id}")
    return audit
