"""`retention-audit demo`: a simulated product with known schedules, ingested through the
same path as posted events, audited, and its report written where a reviewer can open it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import synthetic
from service.audits import jobs
from service.audits.worker import run_one, worker_name
from service.ingestion.ingest import ingest
from service.projects import projects
from service.projects.keys import DEFAULT_SCOPES
from service.reports.chain import load_report
from service.reports.rendering import render_html
from service.storage.db import transaction
from service.storage.tables import Audit, Event

DEMO_PROJECT = "demo"
DEMO_SEED = 20260501
DEMO_USERS = 100
INGEST_BATCH = 5_000


@dataclass(frozen=True, slots=True)
class DemoResult:
    project_id: int
    key: str
    audit_id: str
    status: str
    events: int
    report_path: Path | None


def run_demo(factory: sessionmaker[Session], *, reports_dir: Path) -> DemoResult:
    """Create (or reuse) the demo project, fill it once, audit it, write the HTML report."""
    with transaction(factory) as session:
        existing = [p for p in projects.list_projects(session) if p.name == DEMO_PROJECT]
        if existing:
            project_id = existing[0].id
            _, key = projects.create_key(
                session, project_id=project_id, name="demo", scopes=DEFAULT_SCOPES
            )
        else:
            project, key = projects.create_project(session, name=DEMO_PROJECT)
            project_id = project.id
    with factory() as session:
        stored = session.scalar(
            select(func.count()).select_from(Event).where(Event.project_id == project_id)
        )
    if not stored:
        _ingest_simulation(factory, project_id)
    with transaction(factory) as session:
        audit = jobs.enqueue(session, project_id=project_id, request={})
        audit_id = audit.id
    status = run_until_done(factory, audit_id)
    with factory() as session:
        report = load_report(session, audit_id)
        events = int(
            session.scalar(
                select(func.count()).select_from(Event).where(Event.project_id == project_id)
            )
            or 0
        )
    path = None
    if report is not None:
        reports_dir.mkdir(parents=True, exist_ok=True)
        path = reports_dir / f"{audit_id}.html"
        path.write_text(render_html(report), encoding="utf-8")
    return DemoResult(project_id, key, audit_id, status, events, path)


def _ingest_simulation(factory: sessionmaker[Session], project_id: int) -> None:
    events = synthetic.demo_native_events(seed=DEMO_SEED, n_users=DEMO_USERS)
    now = datetime.now(UTC)
    for start in range(0, len(events), INGEST_BATCH):
        with transaction(factory) as session:
            ingest(
                session,
                project_id=project_id,
                items=events[start : start + INGEST_BATCH],
                now=now,
                future_tolerance_s=86_400.0,
            )


def run_until_done(factory: sessionmaker[Session], audit_id: str) -> str:
    """Run queued audits here until `audit_id` has finished (`jobs.FINISHED`); its status."""
    name = worker_name()
    while True:
        with factory() as session:
            audit = session.get(Audit, audit_id)
            assert audit is not None
            if audit.status in jobs.FINISHED:
                return audit.status
        if run_one(factory, worker=name) is None:
            time.sleep(0.5)  # another worker holds it
