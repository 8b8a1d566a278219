"""Scheduled audits: a project's cron expressions, each slot run once across all workers.

Every worker looks, between audits, for schedules whose latest slot has no run yet and takes
it by inserting the run's row (primary key: schedule, slot) with ON CONFLICT DO NOTHING, in
the transaction that queues the audit: one worker's insert wins, the others' do nothing, and
a slot is queued exactly once (or not at all, if the transaction fails). A project whose queue
is full (`jobs.admit`) gets no audit for that slot; the run records why. Only a schedule's
latest slot is taken: slots missed while no worker ran are not made up for.

Cron expressions are read in UTC by `croniter`: five fields, or six with seconds last.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from croniter import CroniterBadCronError, CroniterBadDateError, croniter
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.audits import jobs
from service.audits.planning import plan_audit
from service.errors import InvalidInput, NotFound
from service.storage.db import dialect_insert, transaction
from service.storage.tables import AuditSchedule, ScheduleRun

log = logging.getLogger("retention_audit.schedules")

MAX_SCHEDULES = 20
RECENT_RUNS = 20


CRON_ERRORS = (CroniterBadCronError, CroniterBadDateError, ValueError, KeyError)


def check_cron(expression: str) -> None:
    """Refuse an expression that is not five or six fields, that croniter cannot read, or
    that lacks a slot before now or one to come (a year field could make either empty)."""
    fields = len(expression.split())
    if fields not in (5, 6):
        raise InvalidInput(
            f"cron: {expression!r} has {fields} fields; a schedule takes five, or six with"
            " seconds last"
        )
    now = datetime.now(UTC)
    try:
        croniter(expression, now).get_next(datetime)
        croniter(expression, now).get_prev(datetime)
    except CRON_ERRORS as exc:
        raise InvalidInput(
            f"cron: {expression!r} is not a cron expression with slots ({exc})"
        ) from None


def latest_slot(expression: str, now: datetime) -> datetime:
    """The schedule's latest slot at or before `now`."""
    slot: datetime = croniter(expression, now).get_prev(datetime)
    following: datetime = croniter(expression, slot).get_next(datetime)
    return following if following <= now else slot


def create_schedule(
    session: Session, *, project_id: int, cron: str, request: dict[str, Any]
) -> AuditSchedule:
    check_cron(cron)
    plan_audit(request)  # refuse a bad request now, not at every slot
    if len(list_schedules(session, project_id)) >= MAX_SCHEDULES:
        raise InvalidInput(f"project {project_id} has {MAX_SCHEDULES} schedules, the most it may")
    schedule = AuditSchedule(
        project_id=project_id, cron=cron, request=request, created_at=datetime.now(UTC)
    )
    session.add(schedule)
    session.flush()
    return schedule


def list_schedules(session: Session, project_id: int) -> list[AuditSchedule]:
    return list(
        session.scalars(
            select(AuditSchedule)
            .where(AuditSchedule.project_id == project_id)
            .order_by(AuditSchedule.id)
        )
    )


def delete_schedule(session: Session, *, project_id: int, schedule_id: int) -> None:
    schedule = session.get(AuditSchedule, schedule_id)
    if schedule is None or schedule.project_id != project_id:
        raise NotFound(f"no schedule {schedule_id}")
    session.delete(schedule)
    session.flush()


def recent_runs(session: Session, schedule_id: int) -> list[ScheduleRun]:
    return list(
        session.scalars(
            select(ScheduleRun)
            .where(ScheduleRun.schedule_id == schedule_id)
            .order_by(ScheduleRun.slot_at.desc())
            .limit(RECENT_RUNS)
        )
    )


@dataclass(frozen=True, slots=True)
class Due:
    schedule_id: int
    project_id: int
    slot_at: datetime
    request: dict[str, Any]


def take_slot(session: Session, due: Due, *, queue_limit: int) -> ScheduleRun | None:
    """Insert the slot's run and queue its audit (or record why not); None when another
    worker has taken the slot."""
    inserted = session.execute(
        dialect_insert(session, ScheduleRun)
        .values(schedule_id=due.schedule_id, slot_at=due.slot_at, created_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["schedule_id", "slot_at"])
        .returning(ScheduleRun.schedule_id)
    ).first()
    if inserted is None:
        return None
    values: dict[str, Any]
    try:
        jobs.admit(session, project_id=due.project_id, limit=queue_limit)
    except jobs.AuditQueueFull as full:
        values = {"skipped": f"queue full: {full.detail}"}
    else:
        audit = jobs.enqueue(session, project_id=due.project_id, request=dict(due.request))
        values = {"audit_id": audit.id}
    session.execute(
        update(ScheduleRun)
        .where(ScheduleRun.schedule_id == due.schedule_id, ScheduleRun.slot_at == due.slot_at)
        .values(**values)
    )
    return session.get(ScheduleRun, (due.schedule_id, due.slot_at))


def due_slots(session: Session, now: datetime) -> list[Due]:
    """Every schedule's latest slot that has no run yet (and is not older than the schedule).

    A schedule whose expression yields no slot (one stored before it was checked as it is
    now) is logged and passed over; the others are not held back by it."""
    due = []
    for schedule in session.scalars(select(AuditSchedule).order_by(AuditSchedule.id)):
        try:
            slot = latest_slot(schedule.cron, now)
        except CRON_ERRORS as exc:
            log.error(
                "schedule %d (project %d): cron %r has no slot (%s); skipped",
                schedule.id, schedule.project_id, schedule.cron, exc,
            )  # fmt: skip
            continue
        if slot < schedule.created_at:
            continue
        if session.get(ScheduleRun, (schedule.id, slot)) is None:
            due.append(Due(schedule.id, schedule.project_id, slot, schedule.request))
    return due


def run_due(factory: sessionmaker[Session], *, queue_limit: int) -> int:
    """Take every due slot not yet taken, each in its own transaction; how many this worker
    took."""
    with factory() as session:
        due = due_slots(session, datetime.now(UTC))
    taken = 0
    for slot in due:
        try:
            with transaction(factory) as session:
                taken += take_slot(session, slot, queue_limit=queue_limit) is not None
        except IntegrityError:  # the schedule was deleted meanwhile
            continue
        except Exception:  # one schedule's failure does not hold back the others
            log.exception("schedule %d: slot %s not taken", slot.schedule_id, slot.slot_at)
    return taken
