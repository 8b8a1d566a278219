"""The types of the report chain's checks and entries: a report verified on its own (served
with its audit), a chain verified up to a report, and a chain entry as published."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from service.reports.model import Body

# a report's status (`service.reports.verification`)
ReportStatus = Literal["verified", "unsigned", "unknown_key", "tampered", "unreadable"]


class ReportVerification(Body):
    """One stored report checked on its own: its digest, body, per-user rows and signature."""

    status: ReportStatus | Literal["missing"]
    detail: str
    key_id: str | None = Field(description="The key that signed it (null: unsigned).")
    rows: int | None = Field(
        description="Per-user rows checked against its rows digest (null: not covered)."
    )
    rows_erased: int | None = Field(description="Rows erased since, kept as their hashes.")


class ReportCheck(ReportVerification):
    """A report's verification as served with its audit: from a full check made at
    `checked_at`, at most `RETENTION_AUDIT_REPORT_CHECK_TTL_S` before the read."""

    checked_at: datetime


class ChainProblem(Body):
    audit_id: str | None
    sequence: int | None
    status: ReportStatus | Literal["missing"]
    problem: str


class ChainHeadCheck(Body):
    """Where the head given (`?head=`) stands in the stored chain."""

    digest: str
    status: Literal["newest", "earlier", "missing"]
    sequence: int | None
    reports_after: int | None


class ChainVerification(Body):
    """The check of a project's chain of reports up to one (`verification.verify_chain`)."""

    audit_id: str
    status: Literal["verified", "unsigned", "unknown_key", "incomplete", "tampered"]
    valid: bool = Field(description="The status is verified or unsigned.")
    reports_checked: int
    unsigned: int
    digest: str | None
    head: ChainHeadCheck | None
    problems: list[ChainProblem]


class ChainEntryRead(Body):
    """A report's chain entry, as published to anchor the chain outside the database."""

    project_id: int
    sequence: int
    audit_id: str
    digest: str
    previous_digest: str | None
    rows_digest: str | None
    key_id: str | None
    signature: str | None
    created_at: str
