"""Pydantic request and response schemas of the HTTP API (separate from the SQL tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from service.errors import InvalidInput
from service.projects.keys import Scope
from service.reports.chain_model import ReportCheck
from service.reports.model import Body, Float, Reference, Report, Severity

TIME_ZONE_DESCRIPTION = (
    "The product's IANA time zone (e.g. 'Europe/Berlin'): the local time of events that send "
    "no UTC offset, in audits whose config sets no time_zone. null: their local time is unknown."
)


# text as the schema states it: no NUL (`service.text`; the request guard refuses one anywhere in
# a body before validation, and this states the rule in the OpenAPI schema)
Text = Annotated[str, Field(pattern=r"^[^\x00]*$")]


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field(min_length=1, max_length=200)
    time_zone: Text | None = Field(None, max_length=64, description=TIME_ZONE_DESCRIPTION)


class ProjectCreated(BaseModel):
    id: int
    name: str
    time_zone: str | None = None
    key: str = Field(description="The project's first key (all scopes); shown only once.")


class ProjectRead(BaseModel):
    id: int
    name: str
    created_at: datetime
    time_zone: str | None = Field(description=TIME_ZONE_DESCRIPTION)


class ProjectPatch(BaseModel):
    """The settings to change; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid")

    time_zone: Text | None = Field(None, max_length=64, description=TIME_ZONE_DESCRIPTION)


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = Field("key", min_length=1, max_length=200)
    scopes: list[Scope] = Field(default_factory=lambda: [Scope.INGEST], min_length=1)


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


def _text_instant(value: Any) -> Any:
    # the body arrives decoded (a str, not JSON text), which a strict datetime would refuse
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 date-time text")
    return value


# an RFC 3339 date-time as the schema states it (not a number read as Unix seconds)
Instant = Annotated[datetime, BeforeValidator(_text_instant)]


class AuditCreate(BaseModel):
    """What to audit. All optional: by default every mechanic, all time, default settings."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    mechanics: list[Text] | None = Field(None, description="Mechanics to audit (default: all).")
    from_: Instant | None = Field(None, alias="from", description="Start of the window.")
    to: Instant | None = Field(None, description="End of the window (exclusive).")
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


# --- mappings (vendor event → native event) ----------------------------------------------

FilterValue = Text | int | float | bool | None
PropertyPath = Annotated[Text, Field(min_length=1, max_length=256)]


class MappingRuleIn(BaseModel):
    """One rule: a vendor event name (`*` for any) and property filters → native event."""

    model_config = ConfigDict(extra="forbid")

    event_name: Text = Field(min_length=1, max_length=256, examples=["Spin"])
    filters: dict[PropertyPath, FilterValue | list[FilterValue]] | None = Field(
        None,
        description="Property path → value (or list of accepted values) the event must carry.",
        examples=[{"game": "slots"}],
    )
    mechanic: Text = Field(min_length=1, max_length=128, examples=["slots"])
    kind: Literal["response", "reward"]
    value_property: PropertyPath | None = Field(
        None, description="Reward magnitude property (default: `value`)."
    )
    cost_property: PropertyPath | None = Field(
        None, description="Response cost property (default: `cost`)."
    )
    option_property: PropertyPath | None = Field(
        None, description="Chosen option property (default: `option`)."
    )

    @model_validator(mode="after")
    def _fits_kind(self) -> MappingRuleIn:
        if self.kind == "response" and self.value_property is not None:
            raise ValueError("a response carries no value: value_property is for rewards")
        if self.kind == "reward" and self.cost_property is not None:
            raise ValueError("a reward carries no cost: cost_property is for responses")
        return self


class MappingPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[MappingRuleIn] = Field(max_length=1000, description="First match wins.")


class MappingRuleRead(BaseModel):
    position: int
    event_name: str
    filters: dict[str, Any] | None
    mechanic: str
    kind: str
    value_property: str | None
    cost_property: str | None
    option_property: str | None
    events: int = Field(description="Stored vendor events this rule maps.")
    failed: int = Field(description="Stored vendor events it matches but cannot map.")


class MappingDefaultsRead(BaseModel):
    properties: dict[str, str]
    events: int
    failed: int


class UnmatchedName(BaseModel):
    event_name: str
    events: int


class MappingRead(BaseModel):
    project_id: int
    rules: list[MappingRuleRead]
    defaults: MappingDefaultsRead
    raw_events: int = Field(description="Vendor events stored for the project.")
    mapped: int = Field(description="Of those, how many are native events audits see.")
    unmapped: int
    unmatched_event_names: list[UnmatchedName] = Field(
        description="The commonest event names no rule matches (to write the next rule)."
    )
    remapped: dict[str, int] | None = Field(
        None, description="After PUT: native events added, changed and removed."
    )


class AuditProgress(Body):
    stage: str
    done: int
    total: int


class AuditView(Body):
    """An audit: its status, progress, error and request, and its report once it has one."""

    id: str
    status: Literal["queued", "running", "succeeded", "failed", "empty"]
    progress: AuditProgress | None
    error: str | None
    reason: str | None = Field(
        description="Why an `empty` audit has no report: the scope (mechanics, window) that "
        "matched no event."
    )
    attempts: int
    request: dict[str, Any]
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    report: Report | None
    verification: ReportCheck | None = Field(
        None,
        description="The report checked on its own (digest, per-user rows, signature); only "
        "on GET /v1/audits/{id}, null before it has a report.",
    )


class AuditPage(Body):
    items: list[AuditView]
    next_cursor: str | None


class ThresholdRead(Body):
    name: str
    value: int | Float
    rationale: str
    reference: str


class RuleRead(Body):
    rule_id: str
    situation: str
    insight: str
    recommendation: str
    severity: Severity
    references: list[Reference]
    thresholds: list[ThresholdRead]


class DecisionTableRead(Body):
    version: str
    rules: list[RuleRead]
