"""Scheduled audits, on SQLite and PostgreSQL: the schedules API, slots known from the cron
expression, a slot taken once however many workers try, a full queue recorded as a skipped
slot, and two real worker processes queueing exactly one audit per slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from service.audits import jobs, schedules
from service.storage.db import make_sessionmaker, transaction
from service.storage.tables import Audit, AuditSchedule, ScheduleRun
from tests.service.conftest import ProjectKey, make_project
from tests.service.test_workers import wait_for, worker

T = datetime(2026, 12, 3, 16, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cron", "now", "slot"),
    [
        ("*/5 * * * *", T + timedelta(minutes=7, seconds=30), T + timedelta(minutes=5)),
        ("*/5 * * * *", T + timedelta(minutes=5), T + timedelta(minutes=5)),  # on the slot
        ("0 6 * * 1", T, datetime(2026, 11, 30, 6, 0, tzinfo=UTC)),  # Monday before
        ("* * * * * */10", T + timedelta(seconds=29), T + timedelta(seconds=20)),
    ],
)
def test_the_latest_slot(cron: str, now: datetime, slot: datetime) -> None:
    assert schedules.latest_slot(cron, now) == slot


def test_the_schedules_api(client: TestClient, project: ProjectKey) -> None:
    path = f"/v1/projects/{project.id}/schedules"
    body = {"cron": "0 6 * * 1", "audit": {"mechanics": ["slots"]}}
    created = client.post(path, json=body, headers=project.auth)
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert (schedule["cron"], schedule["audit"], schedule["runs"]) == (
        "0 6 * * 1", {"mechanics": ["slots"]}, []
    )  # fmt: skip
    assert client.get(path, headers=project.auth).json() == [schedule]
    for bad, field in (
        ({"cron": "every monday"}, "cron"),
        ({"cron": "0 0 30 2 *"}, "cron"),  # 30 February: no slot ever
        ({"cron": "0 0 1 1 * 0 2030"}, "cron"),  # a year: no slot before it
        ({"cron": "0 0 1 1 * 0 2020"}, "cron"),  # a year: no slot after it
        ({"cron": "* * * *"}, "cron"),
        ({"cron": "* * * * *", "audit": {"mechanics": ["slots"], "config": {"x": 1}}}, "x"),
        ({"cron": "* * * * *", "audit": {"nope": 1}}, "nope"),
    ):
        refused = client.post(path, json=bad, headers=project.auth)
        assert refused.status_code == 422, (bad, refused.text)
        assert field in refused.text
    gone = client.delete(f"{path}/{schedule['id']}", headers=project.auth)
    assert gone.status_code == 204
    assert client.get(path, headers=project.auth).json() == []
    assert client.delete(f"{path}/{schedule['id']}", headers=project.auth).status_code == 404


def _schedule(engine: Engine, project_id: int, cron: str = "* * * * *") -> int:
    with transaction(make_sessionmaker(engine)) as session:
        schedule = schedules.create_schedule(
            session, project_id=project_id, cron=cron, request={"mechanics": ["slots"]}
        )
        schedule.created_at = T - timedelta(days=1)
        return schedule.id


def test_a_slot_is_taken_once(project: ProjectKey, clean_database: Engine) -> None:
    schedule_id = _schedule(clean_database, project.id)
    factory = make_sessionmaker(clean_database)
    due = schedules.Due(schedule_id, project.id, T, {"mechanics": ["slots"]})
    with transaction(factory) as session:
        run = schedules.take_slot(session, due, queue_limit=8)
        assert run is not None
        assert run.audit_id is not None
    with transaction(factory) as session:
        assert schedules.take_slot(session, due, queue_limit=8) is None
    with factory() as session:
        (audit,) = session.scalars(select(Audit))
        assert audit.request == {"mechanics": ["slots"]}
        assert audit.status == jobs.QUEUED
        assert schedules.due_slots(session, T + timedelta(seconds=30)) == []
        (next_due,) = schedules.due_slots(session, T + timedelta(minutes=1))
    assert next_due.slot_at == T + timedelta(minutes=1)


def test_a_slot_that_finds_the_queue_full_is_recorded_as_skipped(
    project: ProjectKey, clean_database: Engine
) -> None:
    schedule_id = _schedule(clean_database, project.id)
    factory = make_sessionmaker(clean_database)
    with transaction(factory) as session:
        jobs.enqueue(session, project_id=project.id, request={})
    due = schedules.Due(schedule_id, project.id, T, {})
    with transaction(factory) as session:
        run = schedules.take_slot(session, due, queue_limit=1)
        assert run is not None
        assert run.audit_id is None
        assert run.skipped is not None
        assert run.skipped.startswith("queue full: project")
    with factory() as session:
        assert len(list(session.scalars(select(Audit)))) == 1  # only the one queued before


def test_a_schedule_created_after_a_slot_does_not_take_it(
    project: ProjectKey, clean_database: Engine
) -> None:
    factory = make_sessionmaker(clean_database)
    with transaction(factory) as session:
        schedules.create_schedule(session, project_id=project.id, cron="0 6 * * 1", request={})
    with factory() as session:  # its latest slot (last Monday, 06:00) came before it
        assert schedules.due_slots(session, datetime.now(UTC)) == []


def test_a_schedule_without_slots_does_not_hold_back_the_others(
    clean_database: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """An expression stored without the API's check (a year past, so no slot follows nor
    precedes it as croniter reads it) is logged and passed over; another project's schedule
    is still taken."""
    factory = make_sessionmaker(clean_database)
    bad_project = make_project(clean_database, "bad")
    good_project = make_project(clean_database, "good")
    with transaction(factory) as session:
        bad = AuditSchedule(
            project_id=bad_project.id, cron="0 0 1 1 * 0 2030", request={},
            created_at=T - timedelta(days=1),
        )  # fmt: skip
        session.add(bad)
        session.flush()
        bad_id = bad.id
    good_id = _schedule(clean_database, good_project.id)
    with caplog.at_level("ERROR", logger="retention_audit.schedules"):
        assert schedules.run_due(factory, queue_limit=8) == 1
    with factory() as session:
        assert [run.schedule_id for run in session.scalars(select(ScheduleRun))] == [good_id]
    (logged,) = [r for r in caplog.records if f"schedule {bad_id} " in r.getMessage()]
    assert "has no slot" in logged.getMessage()


def test_two_workers_queue_exactly_one_audit_per_slot(
    clean_database: Engine, database_url: str
) -> None:
    project_id = make_project(clean_database).id  # no events: its audits end at once
    factory = make_sessionmaker(clean_database)
    with transaction(factory) as session:
        schedule = schedules.create_schedule(
            session, project_id=project_id, cron="* * * * * */3", request={}
        )
        schedule_id = schedule.id

    def runs() -> list[ScheduleRun]:
        with factory() as session:
            return list(session.scalars(select(ScheduleRun).order_by(ScheduleRun.slot_at)))

    def audits() -> list[Audit]:
        with factory() as session:
            return list(session.scalars(select(Audit).order_by(Audit.created_at)))

    with worker(database_url), worker(database_url):
        wait_for(lambda: len(runs()) >= 6, timeout=90)
        first = {run.audit_id for run in runs()}
        wait_for(
            lambda: all(a.finished_at is not None for a in audits() if a.id in first), timeout=60
        )
    taken = runs()
    queued = audits()
    slots = [run.slot_at for run in taken]
    assert all(run.schedule_id == schedule_id for run in taken)
    assert all(run.skipped is None for run in taken)
    # every slot once, none missed between the first and the last, one audit each, no other
    assert [b - a for a, b in pairwise(slots)] == [timedelta(seconds=3)] * (len(slots) - 1)
    assert sorted(str(run.audit_id) for run in taken) == sorted(a.id for a in queued)
    # and the workers ran them, each once (an audit over no events ends empty)
    ran = {(a.status, a.attempts) for a in queued if a.id in first}
    assert ran == {(jobs.EMPTY, 1)}
