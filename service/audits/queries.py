"""Audit queries for the API: create, read, list (newest first) and page per-user results."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from models.risk import TIERS
from service.audits import jobs
from service.audits.planning import plan_audit
from service.audits.runner import iso_instant
from service.errors import InvalidInput
from service.reports.chain import load_report, stored_user_row
from service.storage.tables import Audit, AuditUser

MAX_PAGE = 1000


def create_audit(session: Session, *, project_id: int, request: dict[str, Any]) -> Audit:
    plan_audit(request)  # refuse a bad request now, not in the worker
    return jobs.enqueue(session, project_id=project_id, request=request)


def audit_view(session: Session, audit: Audit, *, with_report: bool = True) -> dict[str, Any]:
    return {
        "id": audit.id,
        "status": audit.status,
        "progress": audit.progress,
        "error": audit.error,
        "reason": audit.reason,
        "attempts": audit.attempts,
        "request": audit.request,
        "created_at": iso_instant(audit.created_at),
        "started_at": iso_instant(audit.started_at),
        "finished_at": iso_instant(audit.finished_at),
        "report": load_report(session, audit.id) if with_report else None,
    }


def list_audits(
    session: Session, *, project_id: int, limit: int, cursor: str | None
) -> dict[str, Any]:
    """A page of the project's audits, newest first; `next_cursor` continues it."""
    query = select(Audit).where(Audit.project_id == project_id)
    if cursor:
        created_iso, audit_id = _decode_cursor(cursor)
        try:
            created = datetime.fromisoformat(created_iso)
        except ValueError:
            raise InvalidInput("cursor: not a cursor this API returned") from None
        query = query.where(
            or_(
                Audit.created_at < created,
                and_(Audit.created_at == created, Audit.id < audit_id),
            )
        )
    rows = list(
        session.scalars(query.order_by(Audit.created_at.desc(), Audit.id.desc()).limit(limit + 1))
    )
    page = rows[:limit]
    next_cursor = (
        _encode_cursor([page[-1].created_at.isoformat(), page[-1].id])
        if len(rows) > limit
        else None
    )
    return {
        "items": [audit_view(session, a, with_report=False) for a in page],
        "next_cursor": next_cursor,
    }


def list_users(
    session: Session,
    *,
    audit_id: str,
    mechanic: str | None,
    risk_tier: str | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """A page of per-user results ordered by (mechanic, user), optionally filtered."""
    if risk_tier is not None and risk_tier not in TIERS:
        raise InvalidInput(f"risk_tier: must be one of {', '.join(TIERS)}")
    query = select(AuditUser.mechanic, AuditUser.user_id, AuditUser.body).where(
        AuditUser.audit_id == audit_id
    )
    if mechanic is not None:
        query = query.where(AuditUser.mechanic == mechanic)
    if risk_tier is not None:
        query = query.where(AuditUser.risk_tier == risk_tier)
    if cursor:
        last_mechanic, last_user = _decode_cursor(cursor)
        query = query.where(
            or_(
                AuditUser.mechanic > last_mechanic,
                and_(AuditUser.mechanic == last_mechanic, AuditUser.user_id > last_user),
            )
        )
    rows = session.execute(
        query.order_by(AuditUser.mechanic, AuditUser.user_id).limit(limit + 1)
    ).all()
    page = rows[:limit]
    next_cursor = (
        _encode_cursor([page[-1].mechanic, page[-1].user_id]) if len(rows) > limit else None
    )
    return {"items": [stored_user_row(row.body) for row in page], "next_cursor": next_cursor}


def _encode_cursor(parts: list[str]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(parts)).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        parts = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        first, second = parts
        if not isinstance(first, str) or not isinstance(second, str):
            raise TypeError("a cursor holds two strings")
        if "\x00" in first + second:  # no stored name holds one; the database refuses it
            raise ValueError("a cursor holds no NUL")
        return first, second
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise InvalidInput("cursor: not a cursor this API returned") from None
