"""Webhooks: a project's endpoints, and the deliveries made to each with their attempts."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Body, Query, status
from pydantic import BaseModel, ConfigDict, Field

from service.api.deps import KEYED, Manager, SessionDep, SettingsDep, own_project
from service.api.error_responses import refusals
from service.api.responses import OrjsonResponse
from service.api.schemas import RowId, Text
from service.webhooks import endpoints

EventType = Literal["audit.succeeded", "audit.failed", "audit.empty", "finding.new"]
EVENTS = list(get_args(EventType))
MAX_DELIVERIES_PAGE = 100


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[Text, Field(min_length=1, max_length=2048)] = Field(
        description="Where to POST: http or https, a public address unless the operator "
        "allows others (RETENTION_AUDIT_WEBHOOK_ALLOW_PRIVATE).",
        examples=["https://93.184.216.34/hooks/audits"],
    )
    events: list[EventType] = Field(
        min_length=1,
        description="The events to receive.",
        examples=[EVENTS],
    )


class WebhookRead(BaseModel):
    id: int
    url: str
    events: list[str]
    created_at: str | None


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="`whsec_…`: verifies each delivery's `webhook-signature` (Standard "
        "Webhooks). Shown only now."
    )


class AttemptRead(BaseModel):
    number: int
    started_at: str | None
    duration_ms: int
    status_code: int | None
    error: str | None


class DeliveryRead(BaseModel):
    id: int
    message_id: str = Field(description="The `webhook-id`, the same on every attempt.")
    event_type: str
    status: Literal["pending", "delivering", "succeeded", "failed"]
    attempts: list[AttemptRead]
    next_attempt_at: str | None
    created_at: str | None
    finished_at: str | None


router = APIRouter(
    prefix="/v1/projects",
    tags=["webhooks"],
    dependencies=KEYED,
    responses=refusals(400, 401, 403, 404, 422, 429),
)


@router.post("/{project_id}/webhooks", status_code=status.HTTP_201_CREATED)
def create_webhook(
    project_id: int,
    body: Annotated[
        WebhookCreate,
        Body(
            openapi_examples={
                "every event": {
                    "summary": "a public receiver for every event",
                    "value": {"url": "https://93.184.216.34/hooks/audits", "events": EVENTS},
                }
            }
        ),
    ],
    principal: Manager,
    session: SessionDep,
    settings: SettingsDep,
) -> WebhookCreated:
    """Register an endpoint for some events; its signing secret is shown only in this answer."""
    own_project(principal, project_id)
    endpoint, secret = endpoints.create_endpoint(
        session,
        project_id=project_id,
        url=body.url,
        events=body.events,
        allow_private=settings.webhook_allow_private,
    )
    return WebhookCreated(**endpoints.endpoint_view(endpoint), secret=secret)


@router.get("/{project_id}/webhooks")
def list_webhooks(project_id: int, principal: Manager, session: SessionDep) -> list[WebhookRead]:
    """The project's endpoints (without their secrets)."""
    own_project(principal, project_id)
    return [
        WebhookRead(**endpoints.endpoint_view(e))
        for e in endpoints.list_endpoints(session, project_id)
    ]


@router.delete("/{project_id}/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(
    project_id: int, webhook_id: RowId, principal: Manager, session: SessionDep
) -> None:
    """Remove an endpoint; its pending deliveries are dropped with it."""
    own_project(principal, project_id)
    endpoints.delete_endpoint(session, project_id=project_id, endpoint_id=webhook_id)


@router.get("/{project_id}/webhooks/{webhook_id}/deliveries", response_model=list[DeliveryRead])
def list_deliveries(
    project_id: int,
    webhook_id: RowId,
    principal: Manager,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_DELIVERIES_PAGE)] = 50,
) -> OrjsonResponse:
    """The endpoint's newest deliveries, each with its status and every attempt (status code
    or error, duration)."""
    own_project(principal, project_id)
    return OrjsonResponse(
        endpoints.list_deliveries(
            session, project_id=project_id, endpoint_id=webhook_id, limit=limit
        )
    )
