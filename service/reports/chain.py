"""Audit reports: canonical JSON, digests, the per-project chain and its storage.

A report's digest is the SHA-256 of its canonical JSON (sorted keys, no whitespace) without
the `digest` field; the body stored is exactly those bytes. Each report carries the digest of
the project's previous report, so altering any stored report breaks either its own digest or
the link from the report after it. Its chain entry (digest, previous digest, the digest of its
per-user rows, project, sequence) is signed with the server key when one is configured
(`service.reports.signing`), so that rewriting the chain with fresh digests is detected too;
`service.reports.verification` checks all of it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from models.analysis import USER_RECORD, user_row
from service.errors import NotFound
from service.reports import rows_digest
from service.reports.diff import report_scope
from service.reports.signing import ChainEntry, ReportKeys, sign
from service.settings import get_settings
from service.storage.tables import AuditUser, Project, Report

_log = logging.getLogger(__name__)

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
    keys: ReportKeys | None = None,
) -> dict[str, Any]:
    """Append the report to the project's chain and store its per-user records
    (`models.analysis.Analysis.user_records`), their digest and the entry's signature.

    `body` is the report without `id`, `previous_report_digest` and `digest`, which are set
    here. `keys`: the report keys (default: `RETENTION_AUDIT_REPORT_KEYS`); without one the
    report is stored unsigned. Returns the stored report (with digest). Runs in the caller's
    transaction.
    """
    keys = get_settings().signing_keys() if keys is None else keys
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
    report = Report(
        audit_id=audit_id,
        project_id=project_id,
        sequence=sequence,
        body=canonical.decode(),
        digest=digest,
        previous_digest=previous,
        created_at=datetime.now(UTC),
    )
    session.add(report)
    session.flush()
    report.rows_digest = rows_digest.rows_digest(_store_user_rows(session, audit_id, user_records))
    signer = keys.signer
    if signer is None:
        _log.warning(
            "report %s stored unsigned: set RETENTION_AUDIT_REPORT_KEYS to sign reports", audit_id
        )
    else:
        report.signature = sign(entry_of(report), signer)
        report.signature_key_id = signer.key_id
    session.flush()
    return {**full, "digest": digest}


def entry_of(report: Report) -> ChainEntry:
    """What the report's signature covers."""
    return ChainEntry(
        project_id=report.project_id,
        sequence=report.sequence,
        audit_id=report.audit_id,
        digest=report.digest,
        previous_digest=report.previous_digest,
        rows_digest=report.rows_digest,
    )


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


def _store_user_rows(
    session: Session, audit_id: str, records: Iterable[Sequence[Any]]
) -> list[bytes]:
    """Per-user rows in bulk: text COPY on PostgreSQL, multi-row INSERTs elsewhere. Returns
    their row hashes (`service.reports.rows_digest.row_hash`)."""
    user, mechanic, tier = (USER_RECORD.index(f) for f in ("user_id", "mechanic", "risk_tier"))
    hashes: list[bytes] = []
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
                body = encode_user_record(record)
                hashes.append(
                    rows_digest.row_hash(m.encode(), record[user].encode(), t.encode(), body)
                )
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
                        body.replace(b"\\", b"\\\\"),
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
        return hashes
    batch: list[dict[str, Any]] = []
    for record in records:
        body = encode_user_record(record)
        hashes.append(
            rows_digest.row_hash(
                record[mechanic].encode(), record[user].encode(), record[tier].encode(), body
            )
        )
        batch.append(
            {
                "audit_id": audit_id,
                "mechanic": record[mechanic],
                "user_id": record[user],
                "risk_tier": record[tier],
                "body": body.decode(),
            }
        )
        if len(batch) >= USER_ROWS_CHUNK:
            session.execute(sqlite.insert(AuditUser), batch)
            batch = []
    if batch:
        session.execute(sqlite.insert(AuditUser), batch)
    return hashes


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
    """The stored report with its digest; None when there is none, or when its stored body is
    not a JSON object (`service.reports.verification` says what is wrong with it)."""
    row = session.execute(
        select(rows_digest.stored_text(session, Report.body), Report.digest).where(
            Report.audit_id == audit_id
        )
    ).first()
    if row is None:
        return None
    try:
        body = orjson.loads(row[0])
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    return {**body, "digest": row[1]}


# the columns of a chain entry: all but the body
_ENTRY = (
    Report.project_id,
    Report.sequence,
    Report.audit_id,
    Report.digest,
    Report.previous_digest,
    Report.rows_digest,
    Report.signature_key_id,
    Report.signature,
    Report.created_at,
)


def entry_view(report: Any) -> dict[str, Any]:
    """A chain entry as published (`GET /v1/projects/{id}/chain/head`, `chain export`)."""
    return {
        "project_id": report.project_id,
        "sequence": report.sequence,
        "audit_id": report.audit_id,
        "digest": report.digest,
        "previous_digest": report.previous_digest,
        "rows_digest": report.rows_digest,
        "key_id": report.signature_key_id,
        "signature": report.signature,
        "created_at": report.created_at.isoformat().replace("+00:00", "Z"),
    }


def chain_entries(session: Session, project_id: int) -> Iterator[dict[str, Any]]:
    """The project's chain entries, oldest first (`entry_view`)."""
    for report in session.execute(
        select(*_ENTRY).where(Report.project_id == project_id).order_by(Report.sequence)
    ):
        yield entry_view(report)


def chain_head(session: Session, project_id: int) -> dict[str, Any]:
    """The project's newest chain entry; NotFound when it has no report."""
    report = session.execute(
        select(*_ENTRY)
        .where(Report.project_id == project_id)
        .order_by(Report.sequence.desc())
        .limit(1)
    ).first()
    if report is None:
        raise NotFound(f"project {project_id} has no report yet")
    return entry_view(report)


def previous_audit_id(session: Session, project_id: int, audit_id: str) -> str | None:
    """The audit of the project's newest report chained before this audit's report with the
    same scope (`service.reports.diff.report_scope`: mechanics requested, window,
    configuration); None when there is none, or this audit has no report."""
    sequence = session.scalar(
        select(Report.sequence).where(Report.audit_id == audit_id, Report.project_id == project_id)
    )
    report = None if sequence is None else load_report(session, audit_id)
    if report is None:
        return None
    scope = report_scope(report)
    earlier = session.scalars(
        select(Report.audit_id)
        .where(Report.project_id == project_id, Report.sequence < sequence)
        .order_by(Report.sequence.desc())
    ).all()
    for candidate in earlier:
        body = load_report(session, candidate)
        if body is not None and report_scope(body) == scope:
            return candidate
    return None


def user_rows(session: Session, audit_id: str) -> Iterator[dict[str, Any]]:
    """Every per-user row of an audit, ordered by mechanic then user."""
    rows = session.execute(
        select(AuditUser.body)
        .where(AuditUser.audit_id == audit_id)
        .order_by(AuditUser.mechanic, AuditUser.user_id)
        .execution_options(yield_per=5000)
    )
    for (body,) in rows:
        yield stored_user_row(body)
