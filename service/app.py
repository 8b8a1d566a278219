"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException
from starlette.responses import Response

import service
from service.api import (
    audits,
    events,
    health,
    mappings,
    projects,
    rules,
    schedules,
    vendors,
    webhooks,
)
from service.api.admission import IngestionTurns
from service.api.docs import add_docs
from service.api.middleware import RequestGuard
from service.api.responses import json_answer
from service.audits.worker import InProcessWorker
from service.errors import AppError, MalformedBody, MethodNotAllowed, NotFound
from service.metrics import REGISTRY, QueueCollector
from service.reports.recent_checks import RecentChecks
from service.settings import Settings, get_settings
from service.storage.db import make_engine, make_sessionmaker


def create_app(settings: Settings | None = None) -> FastAPI:
    """An app bound to `settings` (default: from the environment)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        worker = None
        if _runs_audits_in_process(settings, app.state.engine.dialect.name):
            worker = InProcessWorker(
                app.state.sessionmaker,
                processes=settings.processes(),
                settings=settings,
                scheduler=settings.dask_scheduler,
            )
            worker.start()
        yield
        if worker is not None:
            worker.stop()
        app.state.engine.dispose()

    app = FastAPI(
        title="Retention Audit",
        version=service.__version__,
        summary="Audits the reward mechanics of digital products.",
        lifespan=lifespan,
        docs_url=None,  # served with their own assets by `add_docs`
        redoc_url=None,
    )
    engine = make_engine(settings.resolved_database_url())
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.metrics = metrics_registry(app.state.sessionmaker)
    app.state.ingestion_turns = IngestionTurns(settings.ingest_concurrency)
    app.state.report_checks = RecentChecks(settings.report_check_ttl_s)

    app.add_exception_handler(AppError, _app_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    for module in (health, events, projects, audits, rules, mappings, vendors, webhooks, schedules):
        app.include_router(module.router)
    add_docs(app)
    app.add_middleware(
        RequestGuard,
        own_body_paths=[
            route.path
            for router in (events.router, vendors.router)
            for route in router.routes
            if isinstance(route, APIRoute)
        ],
        max_body_bytes=settings.max_body_bytes,
    )
    return app


def metrics_registry(factory: sessionmaker[Session]) -> CollectorRegistry:
    """The process's counters plus this app's view of the audit queue."""
    registry = CollectorRegistry()
    registry.register(_Combined(factory))
    return registry


class _Combined(Collector):
    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._queue = QueueCollector(factory)

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        yield from self._queue.collect()


def _runs_audits_in_process(settings: Settings, dialect: str) -> bool:
    """On the embedded SQLite default the API runs audits itself (no separate worker)."""
    if settings.run_audits_in_process is not None:
        return settings.run_audits_in_process
    return dialect == "sqlite"


async def _app_error(_request: Request, exc: AppError) -> Response:
    return json_answer(exc.status_code, exc.body(), exc.headers)


# what the framework itself refuses (a body that is not UTF-8 JSON, an unknown route or method),
# answered as the API's own refusals
_FRAMEWORK_REFUSALS: dict[int, type[AppError]] = {
    400: MalformedBody,
    404: NotFound,
    405: MethodNotAllowed,
}


async def _http_error(request: Request, exc: HTTPException) -> Response:
    headers = dict(exc.headers) if exc.headers else None
    refusal = _FRAMEWORK_REFUSALS.get(exc.status_code)
    if refusal is None:
        return json_answer(exc.status_code, {"error": "HTTPError", "detail": exc.detail}, headers)
    return await _app_error(request, refusal(exc.detail, headers=headers))


async def _validation_error(_request: Request, exc: RequestValidationError) -> Response:
    detail = [
        {"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()
    ]
    return json_answer(422, {"error": "ValidationError", "detail": detail})
