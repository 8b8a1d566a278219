"""Raw vendor events remember which mapping rule matches them (coverage without a rescan).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("raw_event") as batch:
        batch.add_column(sa.Column("rule_position", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("raw_event") as batch:
        batch.drop_column("rule_position")
