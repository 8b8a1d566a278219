"""Audits: request one, follow it, read its report, per-user results and chain check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, status
from starlette.responses import HTMLResponse, Response

from service.api.deps import KEYED, Reader, SessionDep, SettingsDep, own_project
from service.api.error_responses import refusals
from service.api.responses import OrjsonResponse
from service.api.schemas import AuditCreate, AuditPage, AuditQueued, AuditView
from service.audits import jobs, queries
from service.errors import Conflict
from service.reports.chain import chain_head, load_report, previous_audit_id, user_rows
from service.reports.chain_model import ChainEntryRead, ChainVerification
from service.reports.diff import ReportDiff, diff_reports
from service.reports.diff_model import ReportDiffRead
from service.reports.model import Severity, UsersPage
from service.reports.recent_checks import RecentChecks
from service.reports.rendering import render_html
from service.reports.summary import render_summary
from service.reports.user_table import to_csv, to_parquet
from service.reports.verification import verify_chain

router = APIRouter(
    prefix="/v1/audits",
    tags=["audits"],
    dependencies=KEYED,
    responses=refusals(400, 401, 403, 404, 409, 422, 429),
)


@router.post("", status_code=status.HTTP_202_ACCEPTED)
def create_audit(
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[AuditCreate | None, Body()] = None,
) -> AuditQueued:
    """Queue an audit of the project's events (optionally a window and some mechanics); 429
    when the project has its most audits queued or running."""
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
def get_audit(
    request: Request, audit_id: str, principal: Reader, session: SessionDep, settings: SettingsDep
) -> OrjsonResponse:
    """An audit's status, progress, error, and its report once it has succeeded, with the
    report checked on its own (`verification`: its digest, per-user rows and signature, as
    checked at `checked_at`: at most `RETENTION_AUDIT_REPORT_CHECK_TTL_S` ago)."""
    audit = jobs.get_audit(session, project_id=principal.project_id, audit_id=audit_id)
    view = queries.audit_view(session, audit)
    if audit.status == jobs.SUCCEEDED:
        checks: RecentChecks = request.app.state.report_checks
        checked = checks.check(session, audit.id, settings.signing_keys())
        view["verification"] = {**checked.verdict.view(), "checked_at": checked.checked_at}
    return OrjsonResponse(view)


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
    if report is None and audit.status == jobs.SUCCEEDED:
        raise Conflict(
            f"audit {audit_id}: its stored report is missing or unreadable (see /verify)"
        )
    if report is None and audit.status == jobs.EMPTY:
        raise Conflict(f"audit {audit_id} is empty, it has no report: {audit.reason}")
    if report is None:
        raise Conflict(f"audit {audit_id} is {audit.status}; it has no report yet")
    return report


def _previous_diff(
    session: Any, project_id: int, audit_id: str, report: dict[str, Any]
) -> ReportDiff | None:
    """The changes since the project's previous report of the same scope (None: there is
    none)."""
    previous = previous_audit_id(session, project_id, audit_id)
    if previous is None:
        return None
    return diff_reports(_finished_report(session, project_id, previous), report)


@router.get("/{audit_id}/report.html", response_class=HTMLResponse)
def report_html(audit_id: str, principal: Reader, session: SessionDep) -> HTMLResponse:
    """The report as a self-contained page with charts, for reviewers, with the changes since
    the project's previous report."""
    report = _finished_report(session, principal.project_id, audit_id)
    diff = _previous_diff(session, principal.project_id, audit_id, report)
    return HTMLResponse(render_html(report, diff))


@router.get("/{audit_id}/diff", response_model=ReportDiffRead)
def report_diff(
    audit_id: str,
    principal: Reader,
    session: SessionDep,
    against: Annotated[
        str | None,
        Query(
            description="The audit to compare with (default: the project's newest earlier "
            "report of the same scope; 409 when there is none). Of another scope, only the "
            "mechanics both reports cover are compared.",
            pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        ),
    ] = None,
) -> OrjsonResponse:
    """What changed since another audit's report: findings new, resolved and of changed
    severity, schedule kinds per mechanic, and markers that left their earlier interval."""
    report = _finished_report(session, principal.project_id, audit_id)
    if against is None:
        against = previous_audit_id(session, principal.project_id, audit_id)
        if against is None:
            raise Conflict(f"audit {audit_id} has the project's first report: nothing before it")
    before = _finished_report(session, principal.project_id, against)
    return OrjsonResponse(diff_reports(before, report).as_dict())


@router.get(
    "/{audit_id}/summary.md",
    response_class=Response,
    responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}},
)
def report_summary(
    audit_id: str,
    principal: Reader,
    session: SessionDep,
    fail_on: Annotated[
        Severity | None,
        Query(
            description="The gate's threshold: the summary fails (❌) when a finding is at or "
            "above this severity and passes (✅) otherwise; without it no gate is applied and "
            "the mark is neutral."
        ),
    ] = None,
) -> Response:
    """A short Markdown summary for a pull-request comment: the verdict (with `fail_on`),
    findings by severity, the scope, and what changed since the project's previous report."""
    report = _finished_report(session, principal.project_id, audit_id)
    diff = _previous_diff(session, principal.project_id, audit_id, report)
    return Response(
        render_summary(report, diff, fail_on), media_type="text/markdown; charset=utf-8"
    )


@router.get(
    "/{audit_id}/users.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def users_csv(audit_id: str, principal: Reader, session: SessionDep) -> Response:
    """Every per-user row as CSV: one row per (user, mechanic), nested figures as dotted
    columns, intervals as `.low`/`.high`, `raised_by` joined with `;`."""
    _finished_report(session, principal.project_id, audit_id)
    return Response(to_csv(user_rows(session, audit_id)), media_type="text/csv; charset=utf-8")


@router.get(
    "/{audit_id}/users.parquet",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}}
            }
        }
    },
)
def users_parquet(audit_id: str, principal: Reader, session: SessionDep) -> Response:
    """Every per-user row as Parquet, with the columns of `users.csv`."""
    _finished_report(session, principal.project_id, audit_id)
    return Response(
        to_parquet(user_rows(session, audit_id)), media_type="application/vnd.apache.parquet"
    )


@router.get("/{audit_id}/verify", response_model=ChainVerification)
def verify(
    request: Request,
    audit_id: str,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    head: Annotated[
        str | None,
        Query(
            description="A chain head published earlier (its digest): also check that it is "
            "still stored, and the chain up to it.",
            pattern=r"^sha256:[0-9a-f]{64}$",
        ),
    ] = None,
) -> OrjsonResponse:
    """Recompute the digests of the project's reports up to this one, their per-user rows and
    signatures, check the links, and that no report is missing."""
    checked = verify_chain(
        session,
        project_id=principal.project_id,
        upto_audit_id=audit_id,
        head=head,
        keys=settings.signing_keys(),
    )
    checks: RecentChecks = request.app.state.report_checks
    checks.forget()  # what this check found shows on the next report read, not in ttl_s
    return OrjsonResponse(checked)


# The chain's head belongs to the project, so it has its own path; it is served with the
# audits' routes, which the app includes.
_chain = APIRouter(
    prefix="/v1/projects",
    tags=["audits"],
    dependencies=KEYED,
    responses=refusals(400, 401, 403, 404, 422, 429),
)


@_chain.get("/{project_id}/chain/head", response_model=ChainEntryRead)
def get_chain_head(project_id: int, principal: Reader, session: SessionDep) -> OrjsonResponse:
    """The project's newest chain entry (digest, previous digest, rows digest, signature), to
    publish outside the database and give back to `/verify?head=`."""
    own_project(principal, project_id)
    return OrjsonResponse(chain_head(session, project_id))


router.routes.extend(_chain.routes)
