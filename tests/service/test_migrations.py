"""The schema comes only from the migrations, and they agree with the ORM metadata."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from service.audits import jobs
from service.storage.db import make_engine, make_sessionmaker, transaction
from service.storage.migrate import alembic_config, upgrade
from service.storage.tables import Audit, AuditUser, Base, Event, Project


def test_upgrade_head_on_an_empty_database_matches_the_metadata(engine: Engine) -> None:
    # `engine` is a database that started empty and was brought to head by the migrations.
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_project_time_zone_downgrades_and_upgrades_keeping_projects_and_their_cascade(
    clean_database: Engine, database_url: str
) -> None:
    now = datetime.now(UTC)
    with transaction(make_sessionmaker(clean_database)) as session:
        project = Project(name="zoned", created_at=now, time_zone="Europe/Berlin")
        session.add(project)
        session.flush()
        project_id = project.id
    try:
        command.downgrade(alembic_config(database_url), "0006")
        clean_database.dispose()
        columns = {c["name"] for c in inspect(clean_database).get_columns("project")}
        assert "time_zone" not in columns
        with clean_database.connect() as connection:
            rows = select(func.count()).where(Project.__table__.c.id == project_id)
            assert connection.scalar(rows) == 1
    finally:
        upgrade(database_url)
        clean_database.dispose()
    with transaction(make_sessionmaker(clean_database)) as session:
        kept = session.get(Project, project_id)
        assert kept is not None
        assert kept.time_zone is None
        session.add(
            Event(
                project_id=project_id, message_id="m", user_id="u", mechanic="slots", kind=0,
                ts=now, received_at=now,
            )
        )  # fmt: skip
    with transaction(make_sessionmaker(clean_database)) as session:
        session.delete(session.get(Project, project_id))
    with clean_database.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Event)) == 0


def test_empty_status_downgrades_to_failed_and_upgrades_keeping_audits_and_reports(
    clean_database: Engine, database_url: str
) -> None:
    now = datetime.now(UTC)
    factory = make_sessionmaker(clean_database)
    with transaction(factory) as session:
        project = Project(name="scoped", created_at=now)
        session.add(project)
        session.flush()
        done = jobs.enqueue(session, project_id=project.id, request={})
        empty = jobs.enqueue(session, project_id=project.id, request={"mechanics": ["nope"]})
        done.status, empty.status, empty.reason = "succeeded", "empty", "matched nothing"
        session.add(
            AuditUser(audit_id=done.id, user_id="u", mechanic="slots", risk_tier="none", body="{}")
        )
        ids = (done.id, empty.id)
    try:
        command.downgrade(alembic_config(database_url), "0009")
        clean_database.dispose()
        with clean_database.connect() as connection:
            rows = connection.execute(text("SELECT id, status, error FROM audit ORDER BY id"))
            assert {row.id: (row.status, row.error) for row in rows} == {
                ids[0]: ("succeeded", None),
                ids[1]: ("failed", "matched nothing"),
            }
        with pytest.raises(IntegrityError), clean_database.begin() as connection:
            connection.execute(text("UPDATE audit SET status = 'empty'"))
    finally:
        upgrade(database_url)
        clean_database.dispose()
    with transaction(factory) as session:
        kept = session.get(Audit, ids[1])
        assert kept is not None
        assert (kept.status, kept.reason) == ("failed", None)
        kept.status = "empty"
    with pytest.raises(IntegrityError), clean_database.begin() as connection:
        connection.execute(text("UPDATE audit SET status = 'emptied'"))
    # the audit table was altered in place: its per-user rows still go with it
    with transaction(factory) as session:
        session.delete(session.get(Audit, ids[0]))
    with clean_database.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(AuditUser)) == 0
        assert connection.scalar(select(func.count()).select_from(Audit)) == 1


def test_the_empty_status_refuses_an_audit_table_whose_check_it_cannot_find(
    tmp_path: Path,
) -> None:
    # SQLite: 0010 edits the table's stored SQL; when the check is not spelt as 0001 wrote it,
    # it must say so rather than leave the old constraint under the new revision
    url = f"sqlite:///{tmp_path / 'respelt.db'}"
    command.upgrade(alembic_config(url), "0009")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            version = connection.exec_driver_sql("PRAGMA schema_version").scalar_one()
            connection.exec_driver_sql("PRAGMA writable_schema=ON")
            connection.exec_driver_sql(
                "UPDATE sqlite_master SET sql = replace(sql, \"'failed')\", \"'failed' )\") "
                "WHERE type = 'table' AND name = 'audit'"
            )
            connection.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
            connection.exec_driver_sql("PRAGMA writable_schema=OFF")
    finally:
        engine.dispose()
    with pytest.raises(RuntimeError, match="cannot change the audit table's status check"):
        command.upgrade(alembic_config(url), "0010")
