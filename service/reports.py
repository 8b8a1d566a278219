"""Audit reports: canonical JSON, digests, the per-project chain, storage and verification.

A report's digest is the SHA-256 of its canonical JSON (sorted keys, no whitespace) without
the `digest` field; the body stored is exactly those bytes. Each report carries the digest of
the project's previous report, so altering any stored report breaks either its own digest or
the link from the report after it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from psycopg.types.json import Json
from sqlalchemy import func, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from service.errors import NotFound
from service.tables import AuditUser, Project, Report

USER_ROWS_CHUNK = 2_000


def canonical_json(body: dict[str, Any]) -> bytes:
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS)


def digest_of(canonical: bytes) -> str:
    return "sha256:" + hashlib.sha256(canonical).hexdigest()


def store_report(
    session: Session,
    *,
    audit_id: str,
    project_id: int,
    body: dict[str, Any],
    user_rows: Iterable[dict[str, Any]],
) -> dict[str, Any]:
    """Append the report to the project's chain and store its per-user rows.

    `body` is the report without `id`, `previous_report_digest` and `digest`, which are set
    here. Returns the stored report (with digest). Runs in the caller's transaction.
    """
    # Serialise chain appends per project: the row lock makes concurrent finishers queue.
    lock = select(Project.id).where(Project.id == project_id)
    if session.get_bind().dialect.name == "postgresql":
        lock = lock.with_for_update()
    session.execute(lock)
    last = session.execute(
        select(Report.sequence, Report.digest)
        .where(Report.project_id == project_id)
        .order_by(Report.sequence.desc())
        .limit(1)
    ).first()
    sequence = 1 if last is None else last.sequence + 1
    previous = None if last is None else last.digest
    full = {**body, "id": audit_id, "previous_report_digest": previous}
    canonical = canonical_json(full)
    digest = digest_of(canonical)
    session.add(
        Report(
            audit_id=audit_id,
            project_id=project_id,
            sequence=sequence,
            body=canonical.decode(),
            digest=digest,
            previous_digest=previous,
            created_at=datetime.now(UTC),
        )
    )
    session.flush()
    _store_user_rows(session, audit_id, user_rows)
    return {**full, "digest": digest}


def _store_user_rows(session: Session, audit_id: str, rows: Iterable[dict[str, Any]]) -> None:
    """Per-user rows in bulk: binary COPY on PostgreSQL, multi-row INSERTs elsewhere."""
    if session.get_bind().dialect.name == "postgresql":
        cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(
            "COPY audit_user (audit_id, mechanic, user_id, risk_tier, body) FROM STDIN"
            " (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["text", "text", "text", "text", "json"])
            for row in rows:
                copy.write_row(
                    (
                        audit_id,
                        row["mechanic"],
                        row["user_id"],
                        row["risk_tier"],
                        Json(row, dumps=_json_text),
                    )
                )
        cursor.close()
        return
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(
            {
                "audit_id": audit_id,
                "mechanic": row["mechanic"],
                "user_id": row["user_id"],
                "risk_tier": row["risk_tier"],
                "body": row,
            }
        )
        if len(batch) >= USER_ROWS_CHUNK:
            session.execute(sqlite.insert(AuditUser), batch)
            batch = []
    if batch:
        session.execute(sqlite.insert(AuditUser), batch)


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def load_report(session: Session, audit_id: str) -> dict[str, Any] | None:
    row = session.get(Report, audit_id)
    if row is None:
        return None
    body: dict[str, Any] = orjson.loads(row.body)
    return {**body, "digest": row.digest}


@dataclass(frozen=True, slots=True)
class ChainCheck:
    audit_id: str
    sequence: int
    ok: bool
    problem: str | None


def verify_chain(session: Session, *, project_id: int, upto_audit_id: str) -> dict[str, Any]:
    """Recompute every report of the project up to `upto_audit_id` and check the links."""
    target = session.get(Report, upto_audit_id)
    if target is None or target.project_id != project_id:
        raise NotFound(f"no report for audit {upto_audit_id}")
    rows = session.execute(
        select(Report.audit_id, Report.sequence, Report.body, Report.digest, Report.previous_digest)
        .where(Report.project_id == project_id, Report.sequence <= target.sequence)
        .order_by(Report.sequence)
    ).all()
    checks: list[ChainCheck] = []
    previous_digest: str | None = None
    for expected_sequence, row in enumerate(rows, start=1):
        checks.append(_check(row, expected_sequence, previous_digest))
        previous_digest = row.digest
    broken = [c for c in checks if not c.ok]
    return {
        "audit_id": upto_audit_id,
        "valid": not broken,
        "reports_checked": len(checks),
        "digest": target.digest,
        "problems": [
            {"audit_id": c.audit_id, "sequence": c.sequence, "problem": c.problem} for c in broken
        ],
    }


def _check(row: Any, expected_sequence: int, previous_digest: str | None) -> ChainCheck:
    def bad(problem: str) -> ChainCheck:
        return ChainCheck(row.audit_id, row.sequence, False, problem)

    if row.sequence != expected_sequence:
        return bad(f"report {expected_sequence} of the chain is missing")
    if digest_of(row.body.encode()) != row.digest:
        return bad(f"report {row.audit_id}: its content does not match its digest")
    try:
        body = orjson.loads(row.body)
    except orjson.JSONDecodeError:
        return bad(f"report {row.audit_id}: its content is not JSON")
    if canonical_json(body) != row.body.encode():
        return bad(f"report {row.audit_id}: its content is not in canonical form")
    if body.get("id") != row.audit_id:
        return bad(f"report {row.audit_id}: it names another audit")
    if row.previous_digest != previous_digest or body.get("previous_report_digest") != (
        previous_digest
    ):
        return bad(f"report {row.audit_id}: its link to the previous report is broken")
    return ChainCheck(row.audit_id, row.sequence, True, None)


def count_reports(session: Session, project_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(Report).where(Report.project_id == project_id)
        )
        or 0
    )
