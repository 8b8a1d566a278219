"""The audit queue: claims, leases, fencing and retries, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Engine

from service.audits import jobs
from service.storage.db import make_sessionmaker, transaction
from service.storage.tables import Audit
from tests.service.conftest import make_project


def queue(engine: Engine, n: int) -> list[str]:
    project = make_project(engine, "queue")
    factory = make_sessionmaker(engine)
    ids = []
    for i in range(n):
        with transaction(factory) as session:
            ids.append(jobs.enqueue(session, project_id=project.id, request={"n": i}).id)
        time.sleep(0.002)  # distinct creation times: the queue is first in, first out
    return ids


def claim(engine: Engine, worker: str, lease_s: float = 60.0) -> jobs.Claim | None:
    with transaction(make_sessionmaker(engine)) as session:
        return jobs.claim(session, worker=worker, lease_s=lease_s)


def status(engine: Engine, audit_id: str) -> Audit:
    with make_sessionmaker(engine)() as session:
        audit = session.get(Audit, audit_id)
        assert audit is not None
        return audit


def test_claims_oldest_first_then_nothing(clean_database: Engine) -> None:
    ids = queue(clean_database, 3)
    claimed = [claim(clean_database, "w") for _ in range(4)]
    assert [c.audit_id if c else None for c in claimed] == [*ids, None]
    assert claimed[0] is not None
    assert claimed[0].request == {"n": 0}
    assert status(clean_database, ids[0]).status == jobs.RUNNING


def test_an_expired_lease_is_taken_over_and_the_old_holder_is_fenced(
    clean_database: Engine,
) -> None:
    (audit_id,) = queue(clean_database, 1)
    first = claim(clean_database, "dead-worker", lease_s=0.05)
    assert first is not None
    assert claim(clean_database, "other") is None  # still leased
    time.sleep(0.1)
    second = claim(clean_database, "other")
    assert second is not None
    assert (second.audit_id, second.attempt) == (audit_id, 2)
    factory = make_sessionmaker(clean_database)
    with pytest.raises(jobs.LeaseLost), transaction(factory) as session:
        jobs.succeed(session, audit_id=audit_id, worker="dead-worker")
    with transaction(factory) as session:
        assert not jobs.renew(session, audit_id=audit_id, worker="dead-worker")
        assert jobs.renew(session, audit_id=audit_id, worker="other", progress={"stage": "x"})
        jobs.succeed(session, audit_id=audit_id, worker="other")
    assert status(clean_database, audit_id).status == jobs.SUCCEEDED


def test_an_audit_abandoned_too_often_fails(clean_database: Engine) -> None:
    (audit_id,) = queue(clean_database, 1)
    for attempt in range(jobs.MAX_ATTEMPTS):
        assert claim(clean_database, f"w{attempt}", lease_s=0.01) is not None
        time.sleep(0.03)
    assert claim(clean_database, "last") is None
    audit = status(clean_database, audit_id)
    assert audit.status == jobs.FAILED
    assert "abandoned" in (audit.error or "")


def test_concurrent_claimers_never_share_an_audit(clean_database: Engine) -> None:
    ids = queue(clean_database, 10)
    taken: dict[str, list[str]] = {"a": [], "b": [], "c": []}

    def drain(worker: str) -> None:
        while (got := claim(clean_database, worker)) is not None:
            taken[worker].append(got.audit_id)

    threads = [threading.Thread(target=drain, args=(w,)) for w in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for claimed in taken.values() for i in claimed]
    assert sorted(everything) == sorted(ids)
