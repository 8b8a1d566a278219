"""project_counts, mechanic_counts, project_user, count_delta: a project's stats counted as
events arrive.

Stats were aggregates over the project's events, a scan of all of them per request. Ingestion
now appends what each batch adds (`count_delta`, folded into the totals when stats are read)
and inserts each new user once; this migration counts the events already stored, so existing
projects start with true counts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "project_counts",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("users", sa.BigInteger(), nullable=False),
        sa.Column("first_ts", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ts", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name="fk_project_counts_project_id_project",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name="pk_project_counts"),
    )
    op.create_table(
        "mechanic_counts",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("mechanic", sa.String(length=128), nullable=False),
        sa.Column("responses", sa.BigInteger(), nullable=False),
        sa.Column("rewards", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name="fk_mechanic_counts_project_id_project",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "mechanic", name="pk_mechanic_counts"),
    )
    op.create_table(
        "project_user",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name="fk_project_user_project_id_project",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "user_id", name="pk_project_user"),
    )
    op.create_table(
        "count_delta",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("mechanic", sa.String(length=128), nullable=False),
        sa.Column("responses", sa.BigInteger(), nullable=False),
        sa.Column("rewards", sa.BigInteger(), nullable=False),
        sa.Column("users", sa.BigInteger(), nullable=False),
        sa.Column("first_ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_ts", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name="fk_count_delta_project_id_project",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_count_delta"),
    )
    op.create_index("ix_count_delta_project_id", "count_delta", ["project_id"])
    op.execute(
        "INSERT INTO project_user (project_id, user_id)"
        " SELECT DISTINCT project_id, user_id FROM event"
    )
    op.execute(
        "INSERT INTO mechanic_counts (project_id, mechanic, responses, rewards)"
        " SELECT project_id, mechanic, SUM(CASE WHEN kind = 0 THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN kind = 0 THEN 0 ELSE 1 END) FROM event GROUP BY project_id, mechanic"
    )
    op.execute(
        "INSERT INTO project_counts (project_id, events, users, first_ts, last_ts)"
        " SELECT project_id, COUNT(*), COUNT(DISTINCT user_id), MIN(ts), MAX(ts)"
        " FROM event GROUP BY project_id"
    )


def downgrade() -> None:
    op.drop_index("ix_count_delta_project_id", table_name="count_delta")
    op.drop_table("count_delta")
    op.drop_table("project_user")
    op.drop_table("mechanic_counts")
    op.drop_table("project_counts")
