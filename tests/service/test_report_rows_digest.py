"""The per-user rows are covered by their report's signed rows digest: editing a risk tier is
detected, erasing a user is not mistaken for tampering, and reports stored before the rows were
digested still read as "unsigned", rows "not covered"."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, insert, select, text, update

from service.audits import jobs
from service.reports.chain import store_report
from service.reports.rows_digest import recompute, rows_digest
from service.reports.verification import verify_chain, verify_report
from service.storage.db import make_sessionmaker, transaction
from service.storage.migrate import alembic_config, upgrade
from service.storage.tables import AuditUser, ErasedUserRow, Report
from tests.service.chain_helpers import OLD, app_with_keys, keys, stored_audit, user_records
from tests.service.conftest import ProjectKey


def _row_hash(*fields: str) -> bytes:
    """The documented row hash, written out independently of the service's."""
    encoded = b"".join(b"%d:%s," % (len(f.encode()), f.encode()) for f in fields)
    return hashlib.sha256(encoded).digest()


def test_the_rows_digest_is_the_documented_one(clean_database: Engine, project: ProjectKey) -> None:
    audit = stored_audit(clean_database, project.id, keys(OLD), users=2)
    with transaction(make_sessionmaker(clean_database)) as session:
        rows = session.execute(
            select(AuditUser.mechanic, AuditUser.user_id, AuditUser.risk_tier, AuditUser.body)
            .where(AuditUser.audit_id == audit)
        ).all()  # fmt: skip
        stored = session.get(Report, audit)
        assert stored is not None
        leaves = sorted(_row_hash(*row) for row in rows)
        assert len(leaves) == 3  # two users of slots, one of chest
        expected = hashlib.sha256(b"retention-audit/user-rows/v1" + b"".join(leaves)).hexdigest()
        assert stored.rows_digest == "sha256:" + expected
        assert recompute(session, audit).digest == stored.rows_digest
    # any order of the same hashes gives the same digest
    assert rows_digest(reversed(leaves)) == rows_digest(leaves) == "sha256:" + expected


def test_names_any_character_give_the_same_digest_stored_and_recomputed(
    clean_database: Engine, project: ProjectKey
) -> None:
    """What is hashed when storing (in Python) and when verifying (inside PostgreSQL there)
    agree for names that COPY and JSON must escape, and for non-ASCII ones."""
    names = ("tab\there", "new\nline", "back\\slash", 'quo"te', "cr\rlf", "ünï 名前", "")
    records = [
        (name or "plain", mechanic, *record[2:])
        for name, record in zip(names, user_records(len(names)), strict=True)
        for mechanic in ("spin\tslot", "chest ü")
    ]
    factory = make_sessionmaker(clean_database)
    with transaction(factory) as session:
        audit = jobs.enqueue(session, project_id=project.id, request={})
        store_report(
            session, audit_id=audit.id, project_id=project.id, body={"status": "succeeded"},
            user_records=records, keys=keys(OLD),
        )  # fmt: skip
    with transaction(factory) as session:
        stored = session.get(Report, audit.id)
        assert stored is not None
        rows = session.execute(
            select(AuditUser.mechanic, AuditUser.user_id, AuditUser.risk_tier, AuditUser.body)
            .where(AuditUser.audit_id == audit.id)
        ).all()  # fmt: skip
        assert len(rows) == 14
        expected = hashlib.sha256(
            b"retention-audit/user-rows/v1" + b"".join(sorted(_row_hash(*r) for r in rows))
        ).hexdigest()
        assert stored.rows_digest == "sha256:" + expected
        recomputed = recompute(session, audit.id)
        assert (recomputed.digest, recomputed.rows, recomputed.erased) == (
            stored.rows_digest, 14, 0,
        )  # fmt: skip
        assert verify_report(session, audit.id, keys(OLD)).status == "verified"


@pytest.mark.parametrize("where", ["column", "body"])
def test_editing_one_users_risk_tier_is_detected(
    clean_database: Engine, database_url: str, project: ProjectKey, where: str
) -> None:
    first = stored_audit(clean_database, project.id, keys(OLD))
    second = stored_audit(clean_database, project.id, keys(OLD))
    # user-1's tier is "low" (tiers cycle none, low, medium, high)
    with transaction(make_sessionmaker(clean_database)) as session:
        values = {"risk_tier": "none"}
        if where == "body":
            body = session.scalar(
                select(AuditUser.body).where(
                    AuditUser.audit_id == first, AuditUser.user_id == "user-1"
                )
            )
            assert body is not None
            assert '"low"' in body
            values = {"body": body.replace('"low"', '"none"')}
        session.execute(
            update(AuditUser)
            .where(AuditUser.audit_id == first, AuditUser.user_id == "user-1")
            .where(AuditUser.mechanic == "slots")
            .values(**values)
        )
    with TestClient(app_with_keys(database_url, OLD)) as client:
        verdict = client.get(f"/v1/audits/{second}/verify", headers=project.auth).json()
        assert (verdict["status"], verdict["valid"]) == ("tampered", False)
        assert [(p["audit_id"], p["status"]) for p in verdict["problems"]] == [(first, "tampered")]
        assert "per-user rows do not match" in verdict["problems"][0]["problem"]
        shown = client.get(f"/v1/audits/{first}", headers=project.auth).json()["verification"]
        assert shown["status"] == "tampered"
        assert "per-user rows" in shown["detail"]
        assert (
            client.get(f"/v1/audits/{second}", headers=project.auth).json()["verification"][
                "status"
            ]
            == "verified"
        )


def test_adding_or_deleting_a_row_outside_erasure_is_detected(
    clean_database: Engine, project: ProjectKey
) -> None:
    audit = stored_audit(clean_database, project.id, keys(OLD))
    factory = make_sessionmaker(clean_database)
    with transaction(factory) as session:
        session.execute(
            delete(AuditUser).where(AuditUser.audit_id == audit, AuditUser.user_id == "user-3")
        )
    with transaction(factory) as session:
        assert verify_report(session, audit, keys(OLD)).status == "tampered"
        # a forged erasure record must be a row hash: anything else is named
        session.execute(
            insert(ErasedUserRow).values(
                audit_id=audit, row_hash="user-3", erased_at=datetime.now(UTC)
            )
        )
    with transaction(factory) as session:
        verdict = verify_report(session, audit, keys(OLD))
        assert verdict.status == "tampered"
        assert "not row hashes" in verdict.detail


def test_erasure_keeps_verification_and_a_tier_edit_after_it_is_still_caught(
    clean_database: Engine, database_url: str, project: ProjectKey
) -> None:
    audits = [stored_audit(clean_database, project.id, keys(OLD)) for _ in range(2)]
    with TestClient(app_with_keys(database_url, OLD)) as client:
        erased = client.delete(f"/v1/projects/{project.id}/users/user-2", headers=project.auth)
        assert erased.status_code == 200
        assert erased.json()["audit_results"] == 4  # slots and chest, in both audits
        verdict = client.get(f"/v1/audits/{audits[1]}/verify", headers=project.auth).json()
        assert (verdict["status"], verdict["valid"], verdict["problems"]) == (
            "verified", True, [],
        )  # fmt: skip
        shown = client.get(f"/v1/audits/{audits[0]}", headers=project.auth).json()
        assert shown["verification"]["status"] == "verified"
        assert (shown["verification"]["rows"], shown["verification"]["rows_erased"]) == (7, 2)
        with clean_database.connect() as connection:
            kept = connection.execute(select(ErasedUserRow.audit_id, ErasedUserRow.row_hash)).all()
            assert (
                connection.scalar(text("SELECT count(*) FROM audit_user WHERE user_id = 'user-2'"))
                == 0
            )
        # what erasure keeps is a hash per row, nothing that names the user
        assert len(kept) == 4
        assert all(len(h) == 64 and "user" not in h for _, h in kept)
        # erasing again, or a user with no rows, changes nothing
        assert (
            client.delete(f"/v1/projects/{project.id}/users/user-2", headers=project.auth).json()[
                "audit_results"
            ]
            == 0
        )
        with transaction(make_sessionmaker(clean_database)) as session:
            session.execute(
                update(AuditUser)
                .where(AuditUser.audit_id == audits[0], AuditUser.user_id == "user-3")
                .values(risk_tier="none")
            )
        verdict = client.get(f"/v1/audits/{audits[1]}/verify", headers=project.auth).json()
        assert verdict["status"] == "tampered"
        assert [p["audit_id"] for p in verdict["problems"]] == [audits[0]]


def test_a_report_stored_before_the_migration_reads_as_unsigned_rows_not_covered(
    clean_database: Engine, database_url: str, project: ProjectKey
) -> None:
    signed = stored_audit(clean_database, project.id, keys(OLD))
    try:
        command.downgrade(alembic_config(database_url), "0007")
        clean_database.dispose()
        with clean_database.begin() as connection:
            columns = {
                row[0] if clean_database.dialect.name == "postgresql" else row[1]
                for row in connection.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns"
                        " WHERE table_name = 'report'"
                    )
                    if clean_database.dialect.name == "postgresql"
                    else text("PRAGMA table_info(report)")
                )
            }
            assert "signature" not in columns
            assert "rows_digest" not in columns
            # the signed report stays, as an old one
            assert connection.scalar(text("SELECT count(*) FROM report")) == 1
    finally:
        upgrade(database_url)
        clean_database.dispose()
    with transaction(make_sessionmaker(clean_database)) as session:
        verdict = verify_report(session, signed, keys(OLD))
        assert (verdict.status, verdict.rows, verdict.key_id) == ("unsigned", None, None)
        assert "not covered" in verdict.detail
    later = stored_audit(clean_database, project.id, keys(OLD))
    with transaction(make_sessionmaker(clean_database)) as session:
        chain = verify_chain(session, project_id=project.id, upto_audit_id=later, keys=keys(OLD))
    assert (chain["status"], chain["valid"], chain["unsigned"]) == ("unsigned", True, 1)
