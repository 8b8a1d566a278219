"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.responses import Response

from service.api.deps import SessionDep
from service.api.error_responses import refusals
from service.errors import AppError

router = APIRouter(tags=["operations"])


class NotReady(AppError):
    status_code = 503


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses=refusals(503))
def readyz(session: SessionDep) -> dict[str, str]:
    """The database answers and its schema is migrated."""
    try:
        session.execute(text("SELECT 1 FROM alembic_version"))
    except Exception as exc:
        raise NotReady(f"database not ready: {type(exc).__name__}") from exc
    return {"status": "ready"}


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus metrics: ingestion answers, audits run, the audit queue."""
    registry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
