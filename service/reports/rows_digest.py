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
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import LargeBinary, cast, select
from sqlalchemy.orm import Session

from service.storage.tables import AuditUser, ErasedUserRow

_CONTEXT = b"retention-audit/user-rows/v1"
_READ_CHUNK = 5_000
_HEX64 = re.compile(r"[0-9a-f]{64}")


def row_hash(mechanic: bytes, user_id: bytes, risk_tier: bytes, body: bytes) -> bytes:
    """The 32-byte hash of one stored row, from its fields' UTF-8 bytes."""
    h = hashlib.sha256()
    for field in (mechanic, user_id, risk_tier, body):
        h.update(b"%d:" % len(field))
        h.update(field)
        h.update(b",")
    return h.digest()


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
    """`column` (text) read as its bytes: SQLite hands text that is not UTF-8 to no one, so it
    is read as a blob there; PostgreSQL stores only valid text."""
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


def recompute(session: Session, audit_id: str) -> StoredRows:
    """The digest of the audit's rows now stored together with the hashes erasure kept."""
    hashes = list(stored_row_hashes(session, audit_id))
    kept = list(
        session.scalars(select(ErasedUserRow.row_hash).where(ErasedUserRow.audit_id == audit_id))
    )
    erased = [bytes.fromhex(h) for h in kept if _HEX64.fullmatch(h)]
    return StoredRows(
        rows_digest([*hashes, *erased]), len(hashes), len(erased), len(kept) - len(erased)
    )
