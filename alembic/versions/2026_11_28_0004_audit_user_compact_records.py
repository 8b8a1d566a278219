"""audit_user: compact record bodies as text, keyed by (audit, mechanic, user).

The per-user rows of an audit were its largest write: 400k nested JSON objects of ~980 bytes,
parsed by the database, with a surrogate key and its own index. Bodies become compact JSON
arrays (`service.reports.chain.USER_RECORD_FORMAT`, ~290 bytes) stored as plain text, and the
natural key (audit_id, mechanic, user_id), already unique, becomes the primary key. Bodies
written before this revision stay as they are: the reader serves a stored object unchanged.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = ["audit_id", "mechanic", "user_id"]


def upgrade() -> None:
    with op.batch_alter_table("audit_user", recreate="auto") as batch:
        batch.drop_constraint("uq_audit_user_audit_id_mechanic_user_id", type_="unique")
        batch.drop_constraint("pk_audit_user", type_="primary")
        batch.drop_column("id")
        batch.create_primary_key("pk_audit_user", _KEY)
        batch.alter_column(
            "body", type_=sa.Text(), existing_type=sa.JSON(), postgresql_using="body::text"
        )


def downgrade() -> None:
    # Compact bodies written since the upgrade stay arrays: only the reader of this revision
    # understands them.
    with op.batch_alter_table("audit_user", recreate="auto") as batch:
        batch.drop_constraint("pk_audit_user", type_="primary")
        batch.create_unique_constraint("uq_audit_user_audit_id_mechanic_user_id", _KEY)
        batch.alter_column(
            "body", type_=sa.JSON(), existing_type=sa.Text(), postgresql_using="body::json"
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_user ADD COLUMN id bigserial")
        op.create_primary_key("pk_audit_user", "audit_user", ["id"])
    else:
        with op.batch_alter_table("audit_user", recreate="always") as batch:
            batch.add_column(sa.Column("id", sa.Integer(), nullable=True))
        op.execute("UPDATE audit_user SET id = rowid")
        with op.batch_alter_table("audit_user", recreate="always") as batch:
            batch.alter_column("id", existing_type=sa.Integer(), nullable=False)
            batch.create_primary_key("pk_audit_user", ["id"])
