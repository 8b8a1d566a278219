"""Partitions of users analysed in several processes give the report of a single pass."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from models import synthetic
from models.analysis import AnalysisConfig, analyse
from models.rules import DEFAULT_TABLE
from service.audits.parallel import AnalysisPool, analyse_on_cores
from service.audits.planning import plan_audit
from service.audits.runner import analysis_pool
from service.projects import projects
from service.storage.db import make_sessionmaker, transaction
from service.storage.tables import Event


def test_processes_do_not_change_the_report() -> None:
    columns = synthetic.simulate_demo(seed=11, n_users=60).events
    config = dataclasses.replace(AnalysisConfig(), partition_events=1000)
    assert len(columns) > 4 * config.partition_events
    single = analyse(columns, config=AnalysisConfig(), table=DEFAULT_TABLE)
    stages: list[str] = []
    spread = analyse_on_cores(
        columns,
        config=config,
        table=DEFAULT_TABLE,
        processes=2,
        progress=lambda stage, done, total: stages.append(stage),
    )
    assert "fits" in stages
    assert spread.as_dict() == single.as_dict()
    assert list(spread.user_rows()) == list(single.user_rows())


def test_a_pool_started_ahead_gives_the_same_report() -> None:
    columns = synthetic.simulate_demo(seed=12, n_users=40).events
    config = dataclasses.replace(AnalysisConfig(), partition_events=1000)
    single = analyse(columns, config=AnalysisConfig(), table=DEFAULT_TABLE)
    with AnalysisPool(2) as pool:
        # the workers import the models and load the kernels before the first partition
        for process in pool.executor._processes.values():
            assert process.is_alive()
        spread = analyse_on_cores(columns, config=config, table=DEFAULT_TABLE, pool=pool)
    assert spread.as_dict() == single.as_dict()
    assert list(spread.user_records()) == list(single.user_records())


def test_an_audit_starts_a_pool_only_when_it_will_split(clean_database: Engine) -> None:
    factory = make_sessionmaker(clean_database)
    with transaction(factory) as session:
        project, _ = projects.create_project(session, name="pool")
        session.add_all(
            Event(
                project_id=project.id, message_id=f"m{i}", user_id=f"u{i % 7}", mechanic="spin",
                kind=0, ts=datetime(2026, 5, 1, tzinfo=UTC) + timedelta(seconds=i), value=0.0,
                cost=1.0, source="native", received_at=datetime.now(UTC),
            )
            for i in range(3000)
        )  # fmt: skip
    small = plan_audit({"config": {"partition_events": 10_000}})
    split = plan_audit({"config": {"partition_events": 1000}})
    if clean_database.dialect.name == "postgresql":
        with clean_database.begin() as connection:
            connection.execute(text("ANALYZE event"))  # the planner's estimate
    with analysis_pool(clean_database, project.id, small, 2) as pool:
        assert pool is None
    with analysis_pool(clean_database, project.id, split, 1) as pool:
        assert pool is None  # one process: nothing to spread
    with analysis_pool(clean_database, project.id, split, 2) as pool:
        assert isinstance(pool, AnalysisPool)
