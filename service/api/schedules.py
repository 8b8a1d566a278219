"""Scheduled audits: a project's cron expressions and the audit request each queues."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, status
from pydantic import BaseModel, ConfigDict, Field

from service.api.deps import KEYED, Manager, SessionDep, own_project
from service.api.error_responses import refusals
from service.api.schemas import AuditCreate, RowId, Text
from service.audits import schedules
from service.audits.runner import iso_instant
from service.storage.tables import AuditSchedule


class ScheduleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cron: Annotated[Text, Field(min_length=1, max_length=100)] = Field(
        description="When, in UTC: five cron fields (e.g. '0 6 * * 1' for Mondays 06:00), or "
        "six with seconds last.",
        examples=["0 6 * * 1"],
    )
    audit: AuditCreate | None = Field(
        None, description="The audit each slot queues, as POST /v1/audits takes it."
    )


class ScheduleRunRead(BaseModel):
    slot_at: str | None
    audit_id: str | None = Field(description="The audit the slot queued.")
    skipped: str | None = Field(description="Why the slot queued no audit (queue full).")


class ScheduleRead(BaseModel):
    id: int
    cron: str
    audit: dict[str, object] = Field(description="The audit request each slot queues.")
    created_at: str | None
    runs: list[ScheduleRunRead] = Field(description="The latest slots taken, newest first.")


router = APIRouter(
    prefix="/v1/projects",
    tags=["schedules"],
    dependencies=KEYED,
    responses=refusals(400, 401, 403, 404, 422, 429),
)


def _read(session: SessionDep, schedule: AuditSchedule) -> ScheduleRead:
    return ScheduleRead(
        id=schedule.id,
        cron=schedule.cron,
        audit=schedule.request,
        created_at=iso_instant(schedule.created_at),
        runs=[
            ScheduleRunRead(
                slot_at=iso_instant(run.slot_at), audit_id=run.audit_id, skipped=run.skipped
            )
            for run in schedules.recent_runs(session, schedule.id)
        ],
    )


@router.post("/{project_id}/schedules", status_code=status.HTTP_201_CREATED)
def create_schedule(
    project_id: int,
    body: Annotated[
        ScheduleCreate,
        Body(
            openapi_examples={
                "weekly": {
                    "summary": "every Monday at 06:00 UTC, the slots mechanic",
                    "value": {"cron": "0 6 * * 1", "audit": {"mechanics": ["slots"]}},
                }
            }
        ),
    ],
    principal: Manager,
    session: SessionDep,
) -> ScheduleRead:
    """Audit the project on a schedule; the workers queue one audit per slot."""
    own_project(principal, project_id)
    request = body.audit.as_request() if body.audit is not None else {}
    schedule = schedules.create_schedule(
        session, project_id=project_id, cron=body.cron, request=request
    )
    return _read(session, schedule)


@router.get("/{project_id}/schedules")
def list_schedules(project_id: int, principal: Manager, session: SessionDep) -> list[ScheduleRead]:
    """The project's schedules, each with its latest slots (the audit queued, or why none)."""
    own_project(principal, project_id)
    return [_read(session, s) for s in schedules.list_schedules(session, project_id)]


@router.delete("/{project_id}/schedules/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_schedule(
    project_id: int, schedule_id: RowId, principal: Manager, session: SessionDep
) -> None:
    """Stop a schedule; the audits it queued stay."""
    own_project(principal, project_id)
    schedules.delete_schedule(session, project_id=project_id, schedule_id=schedule_id)
