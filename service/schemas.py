"""Pydantic request and response schemas of the HTTP API (separate from the SQL tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.errors import InvalidInput
from service.keys import Scope


class ProjectCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class ProjectCreated(BaseModel):
    id: int
    name: str
    key: str = Field(description="The project's first key (all scopes); shown only once.")


class ProjectRead(BaseModel):
    id: int
    name: str
    created_at: datetime


class KeyCreate(BaseModel):
    name: str = Field("key", min_length=1, max_length=200)
    scopes: list[Scope] = Field(default_factory=lambda: [Scope.INGEST])


class KeyCreated(BaseModel):
    id: int
    key: str
    scopes: list[Scope]


class KeyRead(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None


class ItemResultRead(BaseModel):
    index: int
    status: Literal["accepted", "duplicate", "rejected"]
    field: str | None = None
    reason: str | None = None
    message_id: str | None = None


class IngestRead(BaseModel):
    accepted: int
    duplicate: int
    rejected: int
    results: list[ItemResultRead]


class MechanicStats(BaseModel):
    mechanic: str
    responses: int
    rewards: int


class StatsRead(BaseModel):
    project_id: int
    events: int
    users: int
    first: str | None
    last: str | None
    mechanics: list[MechanicStats]


class ErrorRead(BaseModel):
    error: str
    detail: object


class AuditCreate(BaseModel):
    """What to audit. All optional: by default every mechanic, all time, default settings."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    mechanics: list[str] | None = Field(None, description="Mechanics to audit (default: all).")
    from_: datetime | None = Field(None, alias="from", description="Start of the window.")
    to: datetime | None = Field(None, description="End of the window (exclusive).")
    config: dict[str, Any] | None = Field(
        None,
        description="Analysis settings (e.g. session_gap_s) and, under `rules`, threshold "
        "overrides keyed 'rule-id.threshold'.",
    )

    def as_request(self) -> dict[str, Any]:
        request: dict[str, Any] = {}
        if self.mechanics:
            request["mechanics"] = self.mechanics
        if self.from_ is not None:
            request["from"] = _aware(self.from_, "from").isoformat()
        if self.to is not None:
            request["to"] = _aware(self.to, "to").isoformat()
        if self.config:
            request["config"] = self.config
        return request


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None:
        raise InvalidInput(f"{field}: needs a time zone")
    return value


class AuditQueued(BaseModel):
    id: str
    status: str
