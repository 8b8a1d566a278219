"""The diff's body as served (`GET /v1/audits/{id}/diff`), for `service.reports.diff`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from service.reports.model import Body, Finding, Float


class SeverityChangeRead(Body):
    rule_id: str
    mechanic: str
    before: str
    after: str


class ScheduleChangeRead(Body):
    mechanic: str
    before: str | None = Field(description="The schedule kind before (null: no such mechanic).")
    after: str | None = Field(description="The schedule kind after (null: no such mechanic).")


class MarkerMoveRead(Body):
    mechanic: str
    marker: str
    before: Float
    after: Float
    interval: list[Float] = Field(description="The earlier report's interval [low, high].")
    interval_kind: str = Field(
        description="wilson-95: Wilson 95 % interval of a flagged share; users-p10-p90: the "
        "earlier 10th to 90th percentile of users."
    )


class ReportDiffRead(Body):
    """What changed from the report `before_id` to the report `after_id` (audit ids)."""

    before_id: str | None
    after_id: str | None
    new_findings: list[Finding]
    resolved_findings: list[Finding]
    changed_severity: list[SeverityChangeRead]
    schedule_changes: list[ScheduleChangeRead]
    marker_moves: list[MarkerMoveRead]
    scope_changed: list[Literal["mechanics", "from", "to", "config"]] = Field(
        description="The parts of the scope in which the reports differ (the mechanics "
        "requested, the window's ends, the configuration); when any does, only the mechanics "
        "both cover are compared."
    )
    compared_mechanics: list[str] | None = Field(
        description="The mechanics compared (null: all the reports hold)."
    )
