"""Per-user rows stored as compact records come back as the analysis's rows, value for value;
rows stored by an earlier version are still served."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text

from models.analysis import USER_RECORD, AnalysisConfig, analyse, user_row
from models.columns import EventColumns
from models.rules import DEFAULT_TABLE
from service.audits import jobs
from service.audits.queries import list_users
from service.projects import projects
from service.reports.chain import (
    USER_RECORD_FORMAT,
    encode_user_record,
    store_report,
    stored_user_row,
)
from service.storage.db import make_engine, make_sessionmaker, transaction
from service.storage.migrate import alembic_config, upgrade
from service.storage.tables import Base
from tests.conftest import POSTGRES_URL

# names COPY's text format must escape, quotes and backslashes JSON must escape, and non-ASCII
NASTY = ("tab\there", "new\nline", "back\\slash", 'quo"te', "cr\rlf", "ünï 名前", "plain")


def _columns() -> EventColumns:
    rng = np.random.default_rng(3)
    users, kinds, times, values = [], [], [], []
    for name in NASTY:
        t = np.sort(rng.uniform(0, 86_400, 60))
        rewarded = rng.random(60) < 0.3
        for ti, won in zip(t, rewarded, strict=True):
            users.append(name)
            kinds.append(0)
            times.append(1.78e9 + ti)
            values.append(0.0)
            if won:
                users.append(name)
                kinds.append(1)
                times.append(1.78e9 + ti + 1.0)
                values.append(float(rng.integers(1, 5)))
    n = len(users)
    return EventColumns.from_arrays(
        user_id=users,
        mechanic=["spin\tslot" if i % 2 else "chest" for i in range(n)],
        kind=kinds,
        t=times,
        value=values,
        cost=[1.0 if k == 0 else 0.0 for k in kinds],
    )


def _all_rows(session: Any, audit_id: str) -> Iterator[dict[str, Any]]:
    cursor = None
    while True:
        page = list_users(
            session, audit_id=audit_id, mechanic=None, risk_tier=None, limit=5, cursor=cursor
        )
        yield from page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return


def _audit_with(session: Any, project_id: int, records: Iterable[tuple[Any, ...]]) -> str:
    """A new audit of the project, its report and these per-user records stored."""
    audit_id = jobs.enqueue(session, project_id=project_id, request={}).id
    store_report(
        session,
        audit_id=audit_id,
        project_id=project_id,
        body={"status": "succeeded"},
        user_records=records,
    )
    return audit_id


def test_stored_records_come_back_as_the_analysis_rows(clean_database: Engine) -> None:
    columns = _columns()
    analysis = analyse(
        columns, config=AnalysisConfig(observed_until=float(columns.t.max())), table=DEFAULT_TABLE
    )
    factory = make_sessionmaker(clean_database)
    with transaction(factory) as session:
        project, _ = projects.create_project(session, name="records")
        audit_id = _audit_with(session, project.id, analysis.user_records())
    with transaction(factory) as session:
        served = list(_all_rows(session, audit_id))
    expected = list(analysis.user_rows())
    assert len(expected) == 2 * len(NASTY)

    def key(row: dict[str, Any]) -> tuple[str, str]:
        return row["mechanic"], row["user_id"]

    # the database orders names by its collation; compare row by row under one key
    assert sorted(served, key=key) == sorted(expected, key=key)
    # and byte for byte as JSON, key order included
    assert sorted(orjson.dumps(r) for r in served) == sorted(orjson.dumps(r) for r in expected)


def test_a_record_is_a_third_of_the_nested_row() -> None:
    columns = _columns()
    analysis = analyse(
        columns, config=AnalysisConfig(observed_until=float(columns.t.max())), table=DEFAULT_TABLE
    )
    records = list(analysis.user_records())
    assert all(len(r) == len(USER_RECORD) for r in records)
    compact = sum(len(encode_user_record(r)) for r in records)
    nested = sum(len(orjson.dumps(user_row(r))) for r in records)
    assert compact < 0.45 * nested


def test_a_stored_record_names_its_format() -> None:
    record = ("u", "m", *([None] * (len(USER_RECORD) - 4)), "none", ("spend",))
    body = encode_user_record(record)
    assert orjson.loads(body)[0] == USER_RECORD_FORMAT
    assert stored_user_row(body) == user_row(record)
    with pytest.raises(ValueError, match="format"):
        stored_user_row(orjson.dumps([USER_RECORD_FORMAT + 1, *record]))


def _legacy_database(kind: str, tmp_path: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path}/legacy.db"
        return
    admin = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    name = "test_user_records_legacy"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_rows_stored_before_the_compact_format_survive_the_migration(
    kind: str, tmp_path: Path
) -> None:
    legacy = {"user_id": "u1", "mechanic": "chest", "risk_tier": "low", "raised_by": ["spend"]}
    for url in _legacy_database(kind, tmp_path):
        upgrade(url, "0003")
        engine = make_engine(url)
        factory = make_sessionmaker(engine)
        with transaction(factory) as session:
            # the schema of revision 0003: the project table as it was then, by plain SQL
            project_id = session.execute(
                text("INSERT INTO project (name, created_at) VALUES ('legacy', :now) RETURNING id"),
                {"now": datetime.now(UTC)},
            ).scalar_one()
            audit_id = str(uuid.uuid4())
            session.execute(
                text(
                    "INSERT INTO audit (id, project_id, status, request, attempts, created_at)"
                    " VALUES (:a, :p, 'succeeded', '{}', 1, :now)"
                ),
                {"a": audit_id, "p": project_id, "now": datetime.now(UTC)},
            )
            session.execute(
                text(
                    "INSERT INTO audit_user (audit_id, mechanic, user_id, risk_tier, body)"
                    " VALUES (:a, 'chest', 'u1', 'low', :b)"
                ),
                {"a": audit_id, "b": orjson.dumps(legacy).decode()},
            )
        engine.dispose()
        upgrade(url)
        engine = make_engine(url)
        with transaction(make_sessionmaker(engine)) as session:
            assert list(_all_rows(session, audit_id)) == [legacy]
        engine.dispose()


def test_deleting_an_audit_or_its_project_deletes_its_rows(clean_database: Engine) -> None:
    factory = make_sessionmaker(clean_database)
    record = ("u", "m", *([None] * (len(USER_RECORD) - 4)), "none", ())
    audits = []
    with transaction(factory) as session:
        for name in ("one", "two"):
            project, _ = projects.create_project(session, name=name)
            for _ in range(2):
                audits.append((project.id, _audit_with(session, project.id, [record])))

    def rows() -> list[str]:
        with clean_database.connect() as connection:
            found = connection.execute(text("SELECT audit_id FROM audit_user ORDER BY audit_id"))
            return [r[0] for r in found]

    assert rows() == sorted(a for _, a in audits)
    with clean_database.begin() as connection:
        connection.execute(text("DELETE FROM audit WHERE id = :a"), {"a": audits[0][1]})
    assert rows() == sorted(a for _, a in audits[1:])
    with clean_database.begin() as connection:  # cascades to its audits, then their rows
        connection.execute(text("DELETE FROM project WHERE id = :p"), {"p": audits[2][0]})
    assert rows() == [audits[1][1]]


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_migrations_go_down_and_up_again(kind: str, tmp_path: Path) -> None:
    for url in _legacy_database(kind, tmp_path):
        upgrade(url)
        command.downgrade(alembic_config(url), "0003")
        upgrade(url)
        engine = make_engine(url)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        engine.dispose()
