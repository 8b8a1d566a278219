"""User erasure: a user's events (native and raw) and stored per-user results are deleted.

Reports keep only aggregates, so the report chain stays intact. Each deleted per-user row
leaves its row hash (`service.reports.rows_digest`, which reveals nothing of the row) in
`erased_user_row`, so its audit's rows digest, and the signature over it, still verify. The
project's counts (`service.projects.counts`) lose the user and their events in the same
transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, insert, select
from sqlalchemy.orm import Session

from service.projects.counts import forget_user, hold_project
from service.reports.rows_digest import stored_row_fields, stored_row_hash
from service.storage.tables import Audit, AuditUser, ErasedUserRow, Event, RawEvent


def erase_user(session: Session, *, project_id: int, user_id: str) -> dict[str, int]:
    def deleted(statement: Any) -> int:
        return int(cast(CursorResult[Any], session.execute(statement)).rowcount)

    hold_project(session, project_id)
    forget_user(session, project_id, user_id)
    audits = select(Audit.id).where(Audit.project_id == project_id)
    _keep_row_hashes(session, audits, user_id)
    return {
        "events": deleted(
            delete(Event).where(Event.project_id == project_id, Event.user_id == user_id)
        ),
        "raw_events": deleted(
            delete(RawEvent).where(RawEvent.project_id == project_id, RawEvent.user_id == user_id)
        ),
        "audit_results": deleted(
            delete(AuditUser).where(AuditUser.audit_id.in_(audits), AuditUser.user_id == user_id)
        ),
    }


def _keep_row_hashes(session: Session, audits: Any, user_id: str) -> None:
    """Record the hash of each of the user's rows about to be deleted."""
    rows = session.execute(
        select(AuditUser.audit_id, *stored_row_fields(session)).where(
            AuditUser.audit_id.in_(audits), AuditUser.user_id == user_id
        )
    ).all()
    if not rows:
        return
    now = datetime.now(UTC)
    kept = [
        {
            "audit_id": audit_id,
            "row_hash": stored_row_hash(fields).hex(),
            "erased_at": now,
        }
        for audit_id, *fields in rows
    ]
    session.execute(insert(ErasedUserRow), kept)
