"""The schema comes only from the migrations, and they agree with the ORM metadata."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select

from service.storage.db import make_sessionmaker, transaction
from service.storage.migrate import alembic_config, upgrade
from service.storage.tables import Base, Event, Project


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
