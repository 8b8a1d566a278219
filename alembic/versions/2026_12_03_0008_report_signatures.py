"""report.rows_digest, signature, signature_key_id, and erased_user_row: signed chain entries
that cover the per-user rows, and the hashes of rows erasure deleted.

Reports stored before stay readable: their new columns are NULL, which verification reads as
"unsigned" with rows "not covered". Plain ADD/DROP COLUMN on both databases (as 0007), so
SQLite keeps `report` and the triggers around it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("report", sa.Column("rows_digest", sa.String(length=80), nullable=True))
    op.add_column("report", sa.Column("signature", sa.String(length=100), nullable=True))
    op.add_column("report", sa.Column("signature_key_id", sa.String(length=32), nullable=True))
    op.create_table(
        "erased_user_row",
        sa.Column("audit_id", sa.String(length=36), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audit.id"],
            name=op.f("fk_erased_user_row_audit_id_audit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("audit_id", "row_hash", name=op.f("pk_erased_user_row")),
    )


def downgrade() -> None:
    op.drop_table("erased_user_row")
    op.drop_column("report", "signature_key_id")
    op.drop_column("report", "signature")
    op.drop_column("report", "rows_digest")
