"""Running audits: the one place where rows become arrays, arrays become a report, and the report
becomes rows (events → arrays → models → report → rows).

The HTTP API, the workers and the offline CLI all audit through `analyse_events`, so the same
events and configuration give the same schedules, markers and findings everywhere.
"""

from __future__ import annotations

import platform
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any

import numpy as np
import scipy
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import service
from models.analysis import Progress
from models.canonical import InputSummary
from models.columns import EventColumns
from service.audits import jobs
from service.audits.distributed import analyse_on_cluster
from service.audits.parallel import AnalysisPool, analyse_on_cores
from service.audits.planning import AuditPlan, plan_audit
from service.audits.scope import NothingToAudit, require_matches
from service.metrics import AUDIT_SECONDS, AUDITS
from service.projects import projects
from service.reports.chain import store_report
from service.reports.model import report_body
from service.storage.db import transaction
from service.storage.reading import estimated_events, read_events
from service.webhooks.outbox import announce_new_findings


def engine_provenance() -> dict[str, str]:
    """What computed the report, so a reviewer can reproduce it."""
    return {
        "retention_audit": service.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }


def analyse_events(
    columns: EventColumns,
    summary: InputSummary,
    plan: AuditPlan,
    *,
    progress: Progress | None = None,
    processes: int = 1,
    pool: AnalysisPool | None = None,
    scheduler: str | None = None,
) -> tuple[dict[str, Any], Iterator[tuple[Any, ...]]]:
    """The report body (without id and chain fields), validated as a
    `service.reports.model.ReportBody`, and the per-user records of an audit
    (`models.analysis.Analysis.user_records`; `models.analysis.user_row` nests one).

    The report is the same whatever `processes` is: partitions of users merge exactly.
    `pool`: worker processes started ahead (`analysis_pool`), else started here if needed.
    `scheduler`: a Dask scheduler's address; the partitions then run on its cluster's workers
    (`service.audits.distributed`) and the report is still the same.
    Raises `service.audits.scope.NothingToAudit` when no event matched the plan's window, or
    a mechanic it names matched none.
    """
    window = plan.window
    require_matches(window, columns.mechanics, summary.events)
    if scheduler is not None:
        analysis = analyse_on_cluster(
            columns, config=plan.config, table=plan.table, scheduler=scheduler, progress=progress
        )
    else:
        analysis = analyse_on_cores(
            columns,
            config=plan.config,
            table=plan.table,
            progress=progress,
            processes=processes,
            pool=pool,
        )
    scope: dict[str, Any] = {
        "from": iso_instant(window.start),
        "to": iso_instant(window.end),
        "mechanics": list(window.mechanics),
    }
    body: dict[str, Any] = {
        "status": "succeeded",
        "engine_version": service.__version__,
        "engine": engine_provenance(),
        "rules_version": plan.table.version,
        "config": plan.config_dict(),
        "window": scope,
        "input": summary.as_dict(),
        "created_at": iso_instant(datetime.now(UTC)),
        **analysis.as_dict(),
    }
    return report_body(body), analysis.user_records()


def analysis_pool(
    engine: Engine, project_id: int, plan: AuditPlan, processes: int
) -> AbstractContextManager[AnalysisPool | None]:
    """Worker processes to start before reading, when the audit will be split over several
    (more events than one partition, more than one process); else no pool."""
    if processes > 1 and (
        estimated_events(engine, project_id, plan.window) > plan.config.partition_events
    ):
        return AnalysisPool(processes)
    return nullcontext(None)


def iso_instant(value: datetime | None) -> str | None:
    """An instant as RFC 3339 in UTC with a "Z" (None stays None)."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def run_claimed(
    factory: sessionmaker[Session],
    claim: jobs.Claim,
    *,
    worker: str,
    lease_s: float = jobs.DEFAULT_LEASE_S,
    processes: int = 1,
    scheduler: str | None = None,
) -> str:
    """Run an audit this worker holds, to a stored report, a recorded failure, or `empty`
    when its scope matched no event (no report, nothing chained); its partitions on the Dask
    cluster at `scheduler` when given, else on `processes` here."""
    started = time.perf_counter()
    status = _run_claimed(
        factory, claim, worker=worker, lease_s=lease_s, processes=processes, scheduler=scheduler
    )
    AUDITS.labels(status=status).inc()
    AUDIT_SECONDS.observe(time.perf_counter() - started)
    return status


def _run_claimed(
    factory: sessionmaker[Session],
    claim: jobs.Claim,
    *,
    worker: str,
    lease_s: float,
    processes: int,
    scheduler: str | None,
) -> str:
    heartbeat = _Heartbeat(factory, claim.audit_id, worker, lease_s)
    heartbeat.start()
    try:
        try:
            with factory() as session:
                time_zone = projects.declared_time_zone(session, claim.project_id)
            plan = plan_audit(claim.request, time_zone=time_zone)
            heartbeat.report("reading", 0, 1)
            engine = factory.kw["bind"]
            local = processes if scheduler is None else 1  # no local pool for a cluster
            with analysis_pool(engine, claim.project_id, plan, local) as pool:
                columns, summary = read_events(
                    engine, claim.project_id, plan.window, streams=max(processes, 2)
                )
                body, user_records = analyse_events(
                    columns,
                    summary,
                    plan,
                    progress=heartbeat.report,
                    processes=processes,
                    pool=pool,
                    scheduler=scheduler,
                )
            heartbeat.report("storing", 0, 1)
        except NothingToAudit as empty:
            heartbeat.stop()
            with transaction(factory) as session:
                jobs.empty(session, audit_id=claim.audit_id, worker=worker, reason=empty.reason)
            return jobs.EMPTY
        except Exception as exc:
            heartbeat.stop()
            with transaction(factory) as session:
                jobs.fail(
                    session,
                    audit_id=claim.audit_id,
                    worker=worker,
                    error=f"{type(exc).__name__}: {exc}",
                )
            return jobs.FAILED
        heartbeat.stop()
        with transaction(factory) as session:
            jobs.succeed(session, audit_id=claim.audit_id, worker=worker)
            report = store_report(
                session,
                audit_id=claim.audit_id,
                project_id=claim.project_id,
                body=body,
                user_records=user_records,
            )
            announce_new_findings(
                session, project_id=claim.project_id, audit_id=claim.audit_id, report=report
            )
        return jobs.SUCCEEDED
    finally:
        heartbeat.stop()


class _Heartbeat:
    """Renews the audit's lease and records its progress from a side thread, so a long model
    stage never lets the lease lapse while the worker is alive."""

    def __init__(
        self, factory: sessionmaker[Session], audit_id: str, worker: str, lease_s: float
    ) -> None:
        self._factory = factory
        self._audit_id = audit_id
        self._worker = worker
        self._lease_s = lease_s
        self._progress: dict[str, Any] = {"stage": "starting", "done": 0, "total": 0}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{audit_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def report(self, stage: str, done: int, total: int) -> None:
        self._progress = {"stage": stage, "done": int(done), "total": int(total)}

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()

    def _run(self) -> None:
        # Often enough to show progress, and well inside the lease.
        interval = min(2.0, self._lease_s / 4)
        while True:
            with transaction(self._factory) as session:
                held = jobs.renew(
                    session,
                    audit_id=self._audit_id,
                    worker=self._worker,
                    progress=dict(self._progress),
                    lease_s=self._lease_s,
                )
            if not held:
                return
            if self._stopped.wait(interval):
                return
