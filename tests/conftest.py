"""Test databases: every service test runs on SQLite and on the PostgreSQL server.

Each backend's schema is built once per session by the Alembic migrations (as in production)
and emptied after every test, so tests see committed data exactly as real clients do.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from service.storage.db import make_engine
from service.storage.migrate import upgrade
from service.storage.tables import Base

POSTGRES_URL = os.environ.get(
    "RETENTION_AUDIT_TEST_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def reset_postgres_schema(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "test.db"
        url = f"sqlite:///{path}"
    else:
        url = POSTGRES_URL
        reset_postgres_schema(url)
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_database(engine: Engine) -> Iterator[Engine]:
    """The database, emptied of every row once the test ends."""
    yield engine
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
