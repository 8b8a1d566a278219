"""project.time_zone: a project's declared IANA time zone, used by audits that set none.

Plain ADD/DROP COLUMN on both databases, not a batch copy of the table: on SQLite a copy would
drop and recreate `project`, losing the trigger that deletes a project's events (0006) and
cascading the drop to every table that refers to it. SQLite drops columns in place since 3.35.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("project", sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("project", "time_zone")
