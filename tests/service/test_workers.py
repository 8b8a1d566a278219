"""Worker processes: a worker killed mid-audit is replaced without losing or doubling the
audit; two workers started together run each of ten audits exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from models import synthetic
from service.audits import jobs
from service.ingestion.ingest import ingest
from service.reports.verification import verify_chain
from service.storage.db import make_sessionmaker, transaction
from service.storage.tables import Audit, Report
from tests.service.conftest import make_project
from tests.service.servers import BIN

NOW = datetime.now(UTC)


@contextmanager
def worker(database_url: str, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [str(BIN / "retention-audit"), "worker", "--poll", "0.1", *args],
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def fill(engine: Engine, users: int) -> int:
    project = make_project(engine, "workers")
    events = synthetic.demo_native_events(seed=3, n_users=users)
    factory = make_sessionmaker(engine)
    for start in range(0, len(events), 10_000):
        with transaction(factory) as session:
            ingest(session, project_id=project.id, items=events[start : start + 10_000],
                   now=NOW, future_tolerance_s=86_400)  # fmt: skip
    return project.id


def audits(engine: Engine) -> list[Audit]:
    with make_sessionmaker(engine)() as session:
        return list(session.scalars(select(Audit).order_by(Audit.created_at)))


def wait_for(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise TimeoutError("condition not reached")


def test_a_killed_worker_is_replaced_and_the_audit_has_one_report(
    clean_database: Engine, database_url: str
) -> None:
    project_id = fill(clean_database, users=400)
    factory = make_sessionmaker(clean_database)
    with transaction(factory) as session:
        audit_id = jobs.enqueue(session, project_id=project_id, request={}).id
    with worker(database_url, "--lease", "2") as first:
        wait_for(
            lambda: (
                audits(clean_database)[0].status == jobs.RUNNING
                and (audits(clean_database)[0].progress or {}).get("stage")
                not in (None, "starting")
            ),
            timeout=60,
        )
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    assert audits(clean_database)[0].status == jobs.RUNNING  # died holding it
    with worker(database_url, "--lease", "2"):
        wait_for(lambda: audits(clean_database)[0].status == jobs.SUCCEEDED, timeout=180)
    (audit,) = audits(clean_database)
    assert audit.attempts == 2
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 1
        assert session.get(Report, audit_id) is not None


@pytest.mark.postgres
def test_two_workers_run_ten_audits_each_exactly_once(
    clean_database: Engine, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent workers are a PostgreSQL deployment")
    project_id = fill(clean_database, users=60)
    factory = make_sessionmaker(clean_database)
    for _ in range(10):
        with transaction(factory) as session:
            jobs.enqueue(session, project_id=project_id, request={})
    with worker(database_url), worker(database_url):
        wait_for(
            lambda: all(a.status == jobs.SUCCEEDED for a in audits(clean_database)), timeout=300
        )
    done = audits(clean_database)
    assert [a.attempts for a in done] == [1] * 10
    assert len({a.lease_owner for a in done}) == 2, "both workers took part"
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Report)) == 10
        last = session.scalar(select(Report.audit_id).order_by(Report.sequence.desc()).limit(1))
        assert last is not None
        chain = verify_chain(session, project_id=project_id, upto_audit_id=last)
    assert chain["valid"]
    assert chain["reports_checked"] == 10
