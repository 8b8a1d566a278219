"""audit_user.body as JSON text rather than JSONB (written in bulk, read whole, never queried).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "audit_user",
            "body",
            type_=sa.JSON(),
            existing_type=postgresql.JSONB(astext_type=sa.Text()),
            postgresql_using="body::json",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "audit_user",
            "body",
            type_=postgresql.JSONB(astext_type=sa.Text()),
            existing_type=sa.JSON(),
            postgresql_using="body::jsonb",
        )
