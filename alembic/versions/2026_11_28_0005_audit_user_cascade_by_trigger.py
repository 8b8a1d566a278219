"""audit_user: deleting an audit deletes its rows by trigger, not by a per-row foreign key.

A foreign key makes PostgreSQL check every inserted row against `audit` (an after-row trigger
each): 1.5 s of the 4.1 s it took to store a 10M-event audit's 400k per-user rows. The rows
are written only by `service.reports.chain.store_report`, in the transaction that marks their audit
succeeded — that update holds the audit's row lock, so the audit exists when they commit and
cannot be deleted under them. What the key still did is the cascade on delete; a trigger on
`audit` does it now (and so also when a project's deletion cascades to its audits).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POSTGRES_FUNCTION = """
CREATE FUNCTION audit_user_cascade() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM audit_user WHERE audit_id = OLD.id;
    RETURN OLD;
END
$$
"""


def upgrade() -> None:
    with op.batch_alter_table("audit_user", recreate="auto") as batch:
        batch.drop_constraint("fk_audit_user_audit_id_audit", type_="foreignkey")
    if _postgres():
        op.execute(_POSTGRES_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_user_cascade BEFORE DELETE ON audit"
            " FOR EACH ROW EXECUTE FUNCTION audit_user_cascade()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_user_cascade BEFORE DELETE ON audit FOR EACH ROW"
            " BEGIN DELETE FROM audit_user WHERE audit_id = OLD.id; END"
        )


def downgrade() -> None:
    if _postgres():
        op.execute("DROP TRIGGER audit_user_cascade ON audit")
        op.execute("DROP FUNCTION audit_user_cascade()")
    else:
        op.execute("DROP TRIGGER audit_user_cascade")
    with op.batch_alter_table("audit_user", recreate="auto") as batch:
        batch.create_foreign_key(
            "fk_audit_user_audit_id_audit", "audit", ["audit_id"], ["id"], ondelete="CASCADE"
        )


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"
