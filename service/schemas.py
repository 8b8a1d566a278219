"""Pydantic request and response schemas of the HTTP API (separate from the SQL tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

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
