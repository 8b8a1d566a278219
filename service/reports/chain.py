"""Audit reports: canonical JSON, digests, the per-project chain, storage and verification.

A report's digest is the SHA-256 of its canonical JSON (sorted keys, no whitespace) without
the `digest` field; the body stored is exactly those bytes. Each report carries the digest of
the project's previous report, so altering any stored report breaks either its own digest or
the link from the report after it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from models.analysis import USER_RECORD, user_row
from service.errors import NotFound
from service.storage.tables import AuditUser, Project, Report

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
    user_records: Iterable[Sequence[Any]],
) -> dict[str, Any]:
    """Append the report to the project's chain and store its per-user records
    (`models.analysis.Analysis.user_records`).

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
    _store_user_rows(session, audit_id, user_records)
    return {**full, "digest": digest}


# A stored user record: a JSON array whose first element is this format's version, then the
# values of `models.analysis.USER_RECORD` in order. A new field list needs a new version.
USER_RECORD_FORMAT = 2
# Fields each earlier format lacks, inserted before the tier (and served as null): format 1
# predates the per-user tests and the count of responses of known local time.
_MISSING_BEFORE_TIER = {1: 6}
_COPY_CHUNK_BYTES = 1 << 20


def encode_user_record(record: Sequence[Any]) -> bytes:
    """The stored body of a user record: `[USER_RECORD_FORMAT, *record]` as JSON."""
    return b"[%d," % USER_RECORD_FORMAT + orjson.dumps(record)[1:]


def stored_user_row(body: str | bytes) -> dict[str, Any]:
    """The API's per-user row from a stored body; a nested object stored by an earlier version
    is served as it was stored."""
    value = orjson.loads(body)
    if isinstance(value, dict):
        return value
    if not isinstance(value, list) or not value:
        raise ValueError("a per-user row in a format this version does not read")
    if value[0] in _MISSING_BEFORE_TIER:
        record = value[1:]
        return user_row([*record[:-2], *[None] * _MISSING_BEFORE_TIER[value[0]], *record[-2:]])
    if value[0] != USER_RECORD_FORMAT:
        raise ValueError("a per-user row in a format this version does not read")
    return user_row(value[1:])


def _store_user_rows(session: Session, audit_id: str, records: Iterable[Sequence[Any]]) -> None:
    """Per-user rows in bulk: text COPY on PostgreSQL, multi-row INSERTs elsewhere."""
    user, mechanic, tier = (USER_RECORD.index(f) for f in ("user_id", "mechanic", "risk_tier"))
    if session.get_bind().dialect.name == "postgresql":
        cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        prefix = _copy_text(audit_id).encode() + b"\t"
        names: dict[str, bytes] = {}  # mechanics and tiers repeat: escape each once
        with cursor.copy(
            "COPY audit_user (audit_id, mechanic, user_id, risk_tier, body) FROM STDIN"
        ) as copy:
            pending: list[bytes] = []
            size = 0
            for record in records:
                m, t = record[mechanic], record[tier]
                line = b"".join(
                    (
                        prefix,
                        names.get(m) or names.setdefault(m, _copy_text(m).encode()),
                        b"\t",
                        _copy_text(record[user]).encode(),
                        b"\t",
                        names.get(t) or names.setdefault(t, _copy_text(t).encode()),
                        b"\t",
                        # orjson writes no raw tab or newline; only backslashes need escaping
                        encode_user_record(record).replace(b"\\", b"\\\\"),
                        b"\n",
                    )
                )
                pending.append(line)
                size += len(line)
                if size >= _COPY_CHUNK_BYTES:
                    copy.write(b"".join(pending))
                    pending, size = [], 0
            copy.write(b"".join(pending))
        cursor.close()
        return
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(
            {
                "audit_id": audit_id,
                "mechanic": record[mechanic],
                "user_id": record[user],
                "risk_tier": record[tier],
                "body": encode_user_record(record).decode(),
            }
        )
        if len(batch) >= USER_ROWS_CHUNK:
            session.execute(sqlite.insert(AuditUser), batch)
            batch = []
    if batch:
        session.execute(sqlite.insert(AuditUser), batch)


def _copy_text(value: str) -> str:
    """A value in COPY's text format: backslash, tab, newline and carriage return escaped."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = (
            value.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return value


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
