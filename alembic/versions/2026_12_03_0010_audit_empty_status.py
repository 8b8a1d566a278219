"""audit.status 'empty', audit.reason: an audit whose scope matched no events ends `empty`,
with the reason naming that scope, rather than as a report with no findings.

PostgreSQL replaces the check constraint. SQLite edits the table's declared SQL in place (its
documented procedure for changes that leave every stored row valid: the constraint only admits
one more value), not a batch copy of the table: a copy would drop `audit`, and with foreign
keys on, dropping it deletes its reports by cascade and fires the trigger that deletes its
per-user rows (0005). `reason` is a plain ADD/DROP COLUMN on both.

Downgrading turns empty audits into failed ones whose error is their reason.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = "status IN ('queued', 'running', 'succeeded', 'failed')"
_AFTER = "status IN ('queued', 'running', 'succeeded', 'failed', 'empty')"


def upgrade() -> None:
    op.add_column("audit", sa.Column("reason", sa.Text(), nullable=True))
    _check(_BEFORE, _AFTER)


def downgrade() -> None:
    op.execute(
        "UPDATE audit SET status = 'failed', error = reason, reason = NULL WHERE status = 'empty'"
    )
    _check(_AFTER, _BEFORE)
    op.drop_column("audit", "reason")


def _check(old: str, new: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE audit DROP CONSTRAINT ck_audit_status")
        op.execute(f"ALTER TABLE audit ADD CONSTRAINT ck_audit_status CHECK ({new})")
        return
    stored = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'audit'"
    ).scalar_one()
    edited = stored.replace(old, new)
    if edited == stored or new not in edited:
        # the table's SQL is not as the earlier migrations wrote it: editing it blindly would
        # leave the old constraint in place while the revision says it changed
        raise RuntimeError(
            f"cannot change the audit table's status check: its stored SQL does not contain "
            f"{old!r} (stored SQL: {stored})"
        )
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'audit'", (edited,)
    )
    bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema=OFF")
