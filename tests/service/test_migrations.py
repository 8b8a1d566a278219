"""The schema comes only from the migrations, and they agree with the ORM metadata."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from service.tables import Base


def test_upgrade_head_on_an_empty_database_matches_the_metadata(engine: Engine) -> None:
    # `engine` is a database that started empty and was brought to head by the migrations.
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
