"""Reports stored through the service's own chain for the chain tests, and the edits an attacker
with write access to the database would make to them."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI
from sqlalchemy import Engine, update

from models.analysis import USER_RECORD
from models.risk import TIERS
from service.app import create_app
from service.audits import jobs
from service.reports.chain import canonical_json, digest_of, store_report
from service.reports.signing import ReportKeys
from service.storage.db import make_sessionmaker, transaction
from service.storage.tables import Report
from tests.service.conftest import settings_for

OLD = "k1:old-secret-0123456789abcdefghijklmnopqrstuvwxyz"
NEW = "k2:new-secret-0123456789abcdefghijklmnopqrstuvwxyz"


def keys(text: str) -> ReportKeys:
    return ReportKeys.parse(text)


def user_records(users: int, mechanic: str = "slots") -> list[tuple[Any, ...]]:
    """Per-user records in the analysis's layout; tiers cycle none, low, medium, high."""
    filler = [None] * (len(USER_RECORD) - 4)
    return [
        (f"user-{i}", mechanic, *filler, TIERS[i % len(TIERS)], ["spend"]) for i in range(users)
    ]


def stored_audit(
    engine: Engine,
    project_id: int,
    signing: ReportKeys,
    *,
    users: int = 6,
    body: dict[str, Any] | None = None,
) -> str:
    """A succeeded audit with its report and per-user rows, stored as a worker stores them."""
    with transaction(make_sessionmaker(engine)) as session:
        audit = jobs.enqueue(session, project_id=project_id, request={})
        audit.status = jobs.SUCCEEDED
        store_report(
            session,
            audit_id=audit.id,
            project_id=project_id,
            body=body or {"status": "succeeded", "findings": []},
            user_records=user_records(users) + user_records(users // 2, "chest"),
            keys=signing,
        )
        return audit.id


def rewrite_chain(engine: Engine, project_id: int, edit: dict[str, Any]) -> None:
    """What an attacker with write access does: change every report's body, recompute its
    digest and relink the next report to it, leaving signatures as they were."""
    with transaction(make_sessionmaker(engine)) as session:
        reports = list(
            session.query(Report).filter(Report.project_id == project_id).order_by(Report.sequence)
        )
        previous = None
        for report in reports:
            body = {**orjson.loads(report.body), **edit, "previous_report_digest": previous}
            canonical = canonical_json(body)
            digest = digest_of(canonical)
            session.execute(
                update(Report)
                .where(Report.audit_id == report.audit_id)
                .values(body=canonical.decode(), digest=digest, previous_digest=previous)
            )
            previous = digest


def app_with_keys(database_url: str, report_keys: str | None) -> FastAPI:
    return create_app(settings_for(database_url, report_keys=report_keys))
