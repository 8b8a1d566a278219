"""Verification of stored reports: one report on its own (served with the audit), or a
project's chain up to a report, optionally against a head published outside the database.

A report's status:

- `verified`: its digest matches its body, its per-user rows match their digest, and its
  chain entry carries a valid signature by a configured key;
- `unsigned`: as far as digests go it holds, but it carries no signature (stored when no key was
  configured, or before reports were signed, when its rows are not covered either), so whoever
  can write to the database could have rewritten it with fresh digests;
- `unknown_key`: signed by a key that is no longer configured: it cannot be checked;
- `tampered`: a digest, link or signature does not match what is stored;
- `unreadable`: its stored body is not a JSON object;
- `missing`: its audit succeeded, but it is not stored.

In a chain, `missing` also names a gap in the sequence and a head given that is not stored. The
chain sums up as `verified`, `unsigned`, `unknown_key`, `incomplete` (something missing) or
`tampered` (`unreadable` included), the worst found; it is `valid` when `verified` or `unsigned`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.audits.jobs import SUCCEEDED
from service.errors import InvalidInput, NotFound
from service.reports import rows_digest
from service.reports.chain import canonical_json, digest_of
from service.reports.signing import ChainEntry, ReportKeys, signature_matches
from service.settings import get_settings
from service.storage.tables import Audit, Report

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_NOT_COVERED = "; its per-user rows are not covered (stored before rows were digested)"
# chain statuses, worst first: the first one present among the reports is the chain's
_CHAIN_STATUS = (
    ("tampered", "tampered"),
    ("unreadable", "tampered"),
    ("missing", "incomplete"),
    ("unknown_key", "unknown_key"),
    ("unsigned", "unsigned"),
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What was found of one stored report."""

    status: str
    detail: str
    key_id: str | None = None
    rows: int | None = None  # per-user rows checked against the digest; None: not covered
    rows_erased: int | None = None

    def view(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "detail": self.detail,
            "key_id": self.key_id,
            "rows": self.rows,
            "rows_erased": self.rows_erased,
        }


def _stored(session: Session) -> Any:
    return select(
        Report.audit_id,
        Report.project_id,
        Report.sequence,
        rows_digest.stored_text(session, Report.body).label("body"),
        Report.digest,
        Report.previous_digest,
        Report.rows_digest,
        Report.signature,
        Report.signature_key_id,
    )


def verify_report(session: Session, audit_id: str, keys: ReportKeys | None = None) -> Verdict:
    """The report of an audit that succeeded, on its own: its digest, body, rows digest and
    signature (not its links to the reports before it); `missing` when it is not stored."""
    row = session.execute(_stored(session).where(Report.audit_id == audit_id)).first()
    if row is None:
        return Verdict("missing", _missing(audit_id))
    return _verdict(session, row, _keys(keys))


def _missing(audit_id: str) -> str:
    return f"audit {audit_id} succeeded, but its report is not stored: it was deleted"


def verify_chain(
    session: Session,
    *,
    project_id: int,
    upto_audit_id: str,
    head: str | None = None,
    keys: ReportKeys | None = None,
) -> dict[str, Any]:
    """Check every report of the project up to `upto_audit_id` (and up to the report whose
    digest is `head`, when that comes later), the links between them, and that no report is
    missing: none in the sequence, not the `head` given, and none of an audit that succeeded."""
    if head is not None and not DIGEST.fullmatch(head):
        raise InvalidInput("head: must be a report digest, 'sha256:' and 64 hex digits")
    keys = _keys(keys)
    target = session.execute(
        select(Report.sequence, Report.digest).where(
            Report.audit_id == upto_audit_id, Report.project_id == project_id
        )
    ).first()
    if target is None:
        audit = session.get(Audit, upto_audit_id)
        if audit is None or audit.project_id != project_id or audit.status != SUCCEEDED:
            raise NotFound(f"no report for audit {upto_audit_id}")
    problems: list[dict[str, Any]] = []
    head_view = None
    last = None if target is None else target.sequence
    if head is not None:
        head_view, head_sequence = _head(session, project_id, head)
        if head_sequence is None:
            problems.append(
                _problem(
                    None,
                    None,
                    "missing",
                    f"the head given ({head}) is not a stored report of this project: reports "
                    "after it were deleted, or the chain was rewritten",
                )
            )
        elif last is not None:
            last = max(last, head_sequence)
    query = _stored(session).where(Report.project_id == project_id).order_by(Report.sequence)
    if last is not None:
        query = query.where(Report.sequence <= last)
    statuses: list[str] = []
    previous: str | None = None
    expected = 1
    signed_before = False
    for row in session.execute(query):
        if row.sequence != expected:
            problems.append(
                _problem(
                    row.audit_id,
                    row.sequence,
                    "missing",
                    f"report {expected} of the chain is missing (the next stored is "
                    f"{row.sequence}, audit {row.audit_id})",
                )
            )
        elif row.previous_digest != previous:
            problems.append(
                _problem(
                    row.audit_id,
                    row.sequence,
                    "tampered",
                    f"report {row.audit_id}: its link to the previous report is broken",
                )
            )
        verdict = _verdict(session, row, keys, signed_before=signed_before)
        statuses.append(verdict.status)
        if verdict.status not in ("verified", "unsigned"):
            problems.append(_problem(row.audit_id, row.sequence, verdict.status, verdict.detail))
        signed_before = signed_before or row.signature is not None
        previous = row.digest
        expected = row.sequence + 1
    problems += _succeeded_without_report(session, project_id)
    found = [p["status"] for p in problems] + statuses
    status = next((chain for s, chain in _CHAIN_STATUS if s in found), "verified")
    return {
        "audit_id": upto_audit_id,
        "status": status,
        "valid": status in ("verified", "unsigned"),
        "reports_checked": len(statuses),
        "unsigned": statuses.count("unsigned"),
        "digest": None if target is None else target.digest,
        "head": head_view,
        "problems": problems,
    }


def _keys(keys: ReportKeys | None) -> ReportKeys:
    return get_settings().signing_keys() if keys is None else keys


def _problem(
    audit_id: str | None, sequence: int | None, status: str, problem: str
) -> dict[str, Any]:
    return {"audit_id": audit_id, "sequence": sequence, "status": status, "problem": problem}


def _head(session: Session, project_id: int, head: str) -> tuple[dict[str, Any], int | None]:
    """Where the head given stands: the newest report, an earlier one, or none stored."""
    sequences = list(
        session.scalars(
            select(Report.sequence).where(Report.project_id == project_id, Report.digest == head)
        )
    )
    newest = session.scalars(
        select(Report.sequence)
        .where(Report.project_id == project_id)
        .order_by(Report.sequence.desc())
        .limit(1)
    ).first()
    if not sequences:
        return {"digest": head, "status": "missing", "sequence": None, "reports_after": None}, None
    sequence = sequences[0]
    after = (newest or sequence) - sequence
    status = "newest" if after == 0 else "earlier"
    return {
        "digest": head,
        "status": status,
        "sequence": sequence,
        "reports_after": after,
    }, sequence


def _succeeded_without_report(session: Session, project_id: int) -> list[dict[str, Any]]:
    missing = session.scalars(
        select(Audit.id)
        .outerjoin(Report, Report.audit_id == Audit.id)
        .where(Audit.project_id == project_id, Audit.status == SUCCEEDED)
        .where(Report.audit_id.is_(None))
        .order_by(Audit.created_at, Audit.id)
    )
    return [_problem(audit_id, None, "missing", _missing(audit_id)) for audit_id in missing]


def _verdict(
    session: Session, row: Any, keys: ReportKeys, *, signed_before: bool = False
) -> Verdict:
    """The status of one stored report, from its row (`_stored`)."""
    name = f"report {row.audit_id}"

    def bad(status: str, why: str) -> Verdict:
        return Verdict(status, f"{name}: {why}", row.signature_key_id)

    body_bytes = rows_digest.as_bytes(row.body)
    if digest_of(body_bytes) != row.digest:
        return bad("tampered", "its content does not match its digest")
    problem = _body_problem(body_bytes, row)
    if problem is not None:
        return bad(*problem)
    rows = erased = None
    if row.rows_digest is not None:
        stored = rows_digest.recompute(session, row.audit_id)
        if stored.malformed:
            return bad("tampered", f"{stored.malformed} erased-row records are not row hashes")
        if stored.digest != row.rows_digest:
            return bad(
                "tampered",
                "its per-user rows do not match their digest (a row was edited, added or "
                "deleted other than by erasure)",
            )
        rows, erased = stored.rows, stored.erased
    covered = "" if rows is not None else _NOT_COVERED
    if row.signature is None and row.signature_key_id is None:
        downgrade = " after a signed report" if signed_before else ""
        return Verdict(
            "unsigned",
            f"{name}: its digests match, but it was stored unsigned{downgrade} (no report key "
            f"was configured), so a rewrite with fresh digests would go unnoticed{covered}",
            None,
            rows,
            erased,
        )
    if row.signature is None or row.signature_key_id is None:
        return bad("tampered", "its signature or its key id was removed")
    key = keys.get(row.signature_key_id)
    if key is None:
        return Verdict(
            "unknown_key",
            f"{name}: signed with key {row.signature_key_id!r}, which is not among the "
            "configured report keys, so its signature cannot be checked",
            row.signature_key_id,
            rows,
            erased,
        )
    entry = ChainEntry(
        project_id=row.project_id,
        sequence=row.sequence,
        audit_id=row.audit_id,
        digest=row.digest,
        previous_digest=row.previous_digest,
        rows_digest=row.rows_digest,
    )
    if not signature_matches(entry, key, row.signature):
        return bad(
            "tampered",
            "its signature does not match its chain entry (digest, link, rows digest, project "
            "or place were rewritten)",
        )
    return Verdict(
        "verified",
        f"{name}: digests match and the entry is signed with key {key.key_id!r}{covered}",
        key.key_id,
        rows,
        erased,
    )


def _body_problem(body_bytes: bytes, row: Any) -> tuple[str, str] | None:
    """What is wrong with the stored body itself, if anything."""
    try:
        body = orjson.loads(body_bytes)
    except orjson.JSONDecodeError:
        return "unreadable", "its stored content is not JSON"
    if not isinstance(body, dict):
        return "unreadable", f"its stored content is JSON but not an object ({type(body).__name__})"
    try:
        canonical = canonical_json(body)
    except orjson.JSONEncodeError:
        return "unreadable", "its stored content holds values a report cannot hold"
    if canonical != body_bytes:
        return "tampered", "its content is not in canonical form"
    if body.get("id") != row.audit_id:
        return "tampered", "it names another audit"
    if body.get("previous_report_digest") != row.previous_digest:
        return "tampered", "its link to the previous report is broken"
    return None
