"""audit_schedule, schedule_run: a project's recurring audits, each slot taken once.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 16:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("cron", sa.String(length=100), nullable=False),
        sa.Column(
            "request",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["project.id"],
            name="fk_audit_schedule_project_id_project",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_audit_schedule"),
    )
    op.create_index("ix_audit_schedule_project_id", "audit_schedule", ["project_id"], unique=False)
    op.create_table(
        "schedule_run",
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("slot_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("audit_id", sa.String(length=36), nullable=True),
        sa.Column("skipped", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["audit_schedule.id"],
            name="fk_schedule_run_schedule_id_audit_schedule",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audit.id"],
            name="fk_schedule_run_audit_id_audit",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("schedule_id", "slot_at", name="pk_schedule_run"),
    )


def downgrade() -> None:
    op.drop_table("schedule_run")
    op.drop_index("ix_audit_schedule_project_id", table_name="audit_schedule")
    op.drop_table("audit_schedule")
