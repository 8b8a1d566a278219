"""Audits: request one, follow it, read its report, per-user results and chain check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status
from starlette.responses import HTMLResponse

from service.api.deps import Manager, Reader, SessionDep, SettingsDep
from service.api.responses import OrjsonResponse
from service.api.schemas import AuditCreate, AuditPage, AuditQueued, AuditView
from service.audits import jobs, queries
from service.errors import Conflict
from service.reports.chain import load_report, verify_chain
from service.reports.model import ChainVerification, UsersPage
from service.reports.rendering import render_html

router = APIRouter(prefix="/v1/audits", tags=["audits"])


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def create_audit(
    principal: Manager,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[AuditCreate | None, Body()] = None,
) -> AuditQueued:
    """Queue an audit of the project's events (optionally a window and some mechanics); the
    manage scope, and 429 when the project has its most audits queued or running."""
    request = body.as_request() if body is not None else {}
    limit = settings.max_queued_audits_per_project
    jobs.admit(session, project_id=principal.project_id, limit=limit)
    audit = queries.create_audit(session, project_id=principal.project_id, request=request)
    return AuditQueued(id=audit.id, status=audit.status)


@router.get("", response_model=AuditPage)
def list_audits(
    principal: Reader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 50,
    cursor: str | None = None,
) -> OrjsonResponse:
    """The project's audits, newest first (without reports); follow `next_cursor`."""
    return OrjsonResponse(
        queries.list_audits(session, project_id=principal.project_id, limit=limit, cursor=cursor)
    )


@router.get("/{audit_id}", response_model=AuditView)
def get_audit(audit_id: str, principal: Reader, session: SessionDep) -> OrjsonResponse:
    """An audit's status, progress, error, and its report once it has succeeded."""
    audit = jobs.get_audit(session, project_id=principal.project_id, audit_id=audit_id)
    return OrjsonResponse(queries.audit_view(session, audit))


@router.get("/{audit_id}/users", response_model=UsersPage)
def audit_users(
    audit_id: str,
    principal: Reader,
    session: SessionDep,
    mechanic: str | None = None,
    risk_tier: str | None = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 100,
    cursor: str | None = None,
) -> OrjsonResponse:
    """Per-user results: fits with intervals, markers, risk tier and what raised it."""
    jobs.get_audit(session, project_id=principal.project_id, audit_id=audit_id)
    return OrjsonResponse(
        queries.list_users(
            session,
            audit_id=audit_id,
            mechanic=mechanic,
            risk_tier=risk_tier,
            limit=limit,
            cursor=cursor,
        )
    )


def _finished_report(session: Any, project_id: int, audit_id: str) -> dict[str, Any]:
    audit = jobs.get_audit(session, project_id=project_id, audit_id=audit_id)
    report = load_report(session, audit.id)
    if report is None:
        raise Conflict(f"audit {audit_id} is {audit.status}; it has no report yet")
    return report


@router.get("/{audit_id}/report.html", response_class=HTMLResponse)
def report_html(audit_id: str, principal: Reader, session: SessionDep) -> HTMLResponse:
    """The report as a self-contained page with charts, for reviewers."""
    report = _finished_report(session, principal.project_id, audit_id)
    return HTMLResponse(render_html(report))


@router.get("/{audit_id}/verify", response_model=ChainVerification)
def verify(audit_id: str, principal: Reader, session: SessionDep) -> OrjsonResponse:
    """Recompute the digests of the project's reports up to this one and check the chain."""
    return OrjsonResponse(
        verify_chain(session, project_id=principal.project_id, upto_audit_id=audit_id)
    )
