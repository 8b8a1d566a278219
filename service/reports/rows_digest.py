"""The digest of an audit's per-user rows, stored with its report and signed with it.

Each stored row (`audit_user`: mechanic, user id, risk tier and the record's body) has a *row
hash*: SHA-256 of its four fields, each as its UTF-8 length in decimal, `:`, the bytes and `,`
(so no two rows encode alike, whatever characters their names hold). The audit's rows digest is
`sha256:` and the SHA-256 of `retention-audit/user-rows/v1` followed by the row hashes, 32
bytes each, in ascending order of the hashes themselves.

The order is fixed by the rows' content, not by where the database puts them or how it collates
names. Ordering by the hashes rather than by (mechanic, user id) is what lets erasure work:
erasing a user deletes their rows and keeps only each row's hash (`ErasedUserRow`), and the
digest is recomputed from the rows left plus the hashes kept, without knowing where the erased
user stood among the others. A kept hash reveals nothing of the row (its figures are in it), and
editing any row, its tier column included, changes its hash and so the digest.

Rows are hashed in Python as they are stored; on PostgreSQL the digest is recomputed inside the
database (`_POSTGRES_DIGEST`), so verifying an audit moves 32 bytes per row at most, not the rows.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import LargeBinary, bindparam, cast, select, text
from sqlalchemy.orm import Session

from service.storage.tables import AuditUser, ErasedUserRow

_CONTEXT = b"retention-audit/user-rows/v1"
_READ_CHUNK = 5_000
_HEX64 = re.compile(r"[0-9a-f]{64}")


def row_hash(mechanic: bytes, user_id: bytes, risk_tier: bytes, body: bytes) -> bytes:
    """The 32-byte hash of one stored row, from its fields' UTF-8 bytes."""
    return hashlib.sha256(
        b"%d:%b,%d:%b,%d:%b,%d:%b,"
        % (
            len(mechanic),
            mechanic,
            len(user_id),
            user_id,
            len(risk_tier),
            risk_tier,
            len(body),
            body,
        )
    ).digest()


def rows_digest(hashes: Iterable[bytes]) -> str:
    """The digest of a set of row hashes (in any order)."""
    return "sha256:" + hashlib.sha256(_CONTEXT + b"".join(sorted(hashes))).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredRows:
    """An audit's rows as stored now: the digest of their hashes and of the erased rows'."""

    digest: str
    rows: int
    erased: int
    # kept hashes that are not 64 hex digits: erasure never writes one
    malformed: int


def stored_text(session: Session, column: Any) -> Any:
    """`column` (text) read so that any stored value can be read: SQLite may hold text that is
    not valid UTF-8, which its driver fails to decode, so it is read as a blob there;
    PostgreSQL holds only valid text."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(column, LargeBinary)
    return column


def as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def stored_row_fields(session: Session) -> tuple[Any, ...]:
    """The columns a row hash covers, in order, each read as its bytes (`stored_text`)."""
    columns = (AuditUser.mechanic, AuditUser.user_id, AuditUser.risk_tier, AuditUser.body)
    return tuple(stored_text(session, c) for c in columns)


def stored_row_hash(fields: Sequence[str | bytes]) -> bytes:
    """The hash of a row read as `stored_row_fields`."""
    mechanic, user_id, risk_tier, body = (as_bytes(f) for f in fields)
    return row_hash(mechanic, user_id, risk_tier, body)


def stored_row_hashes(session: Session, audit_id: str) -> Iterator[bytes]:
    """The hashes of the audit's stored rows, read in chunks."""
    query = (
        select(*stored_row_fields(session))
        .where(AuditUser.audit_id == audit_id)
        .execution_options(yield_per=_READ_CHUNK)
    )
    for fields in session.execute(query):
        yield stored_row_hash(fields)


# The same digest computed inside PostgreSQL (its `sha256`, and bytea ordered byte by byte as
# Python orders bytes), so that only the result leaves the database.
_POSTGRES_DIGEST = text(
    """
    WITH hashes AS (
        SELECT sha256(convert_to(
            octet_length(mechanic)::text || ':' || mechanic || ','
            || octet_length(user_id)::text || ':' || user_id || ','
            || octet_length(risk_tier)::text || ':' || risk_tier || ','
            || octet_length(body)::text || ':' || body || ',', 'UTF8')) AS hash, false AS erased
        FROM audit_user WHERE audit_id = :audit_id
        UNION ALL
        SELECT decode(row_hash, 'hex'), true FROM erased_user_row
        WHERE audit_id = :audit_id AND row_hash ~ '^[0-9a-f]{64}$'
    )
    SELECT
        'sha256:' || encode(sha256(:context || coalesce(string_agg(hash, ''::bytea ORDER BY hash),
            ''::bytea)), 'hex') AS digest,
        count(*) FILTER (WHERE NOT erased) AS rows,
        count(*) FILTER (WHERE erased) AS erased,
        (SELECT count(*) FROM erased_user_row WHERE audit_id = :audit_id) AS kept
    FROM hashes
    """
).bindparams(bindparam("context", type_=LargeBinary))


def recompute(session: Session, audit_id: str) -> StoredRows:
    """The digest of the audit's rows now stored together with the hashes erasure kept."""
    if session.get_bind().dialect.name == "postgresql":
        found = session.execute(_POSTGRES_DIGEST, {"audit_id": audit_id, "context": _CONTEXT}).one()
        return StoredRows(found.digest, found.rows, found.erased, found.kept - found.erased)
    hashes = list(stored_row_hashes(session, audit_id))
    kept = list(
        session.scalars(select(ErasedUserRow.row_hash).where(ErasedUserRow.audit_id == audit_id))
    )
    erased = [bytes.fromhex(h) for h in kept if _HEX64.fullmatch(h)]
    return StoredRows(
        rows_digest([*hashes, *erased]), len(hashes), len(erased), len(kept) - len(erased)
    )
