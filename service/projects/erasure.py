"""User erasure: a user's events (native and raw) and stored per-user results are deleted.

Reports keep only aggregates, so the report chain stays intact and verifiable. The project's
counts (`service.projects.counts`) lose the user and their events in the same transaction.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from service.projects.counts import forget_user, hold_project
from service.storage.tables import Audit, AuditUser, Event, RawEvent


def erase_user(session: Session, *, project_id: int, user_id: str) -> dict[str, int]:
    def deleted(statement: Any) -> int:
        return int(cast(CursorResult[Any], session.execute(statement)).rowcount)

    hold_project(session, project_id)
    forget_user(session, project_id, user_id)
    audits = select(Audit.id).where(Audit.project_id == project_id)
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
