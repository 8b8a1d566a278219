"""Partitions of users analysed in several processes give the report of a single pass."""

from __future__ import annotations

import dataclasses

from models import synthetic
from models.analysis import AnalysisConfig, analyse
from models.rules import DEFAULT_TABLE
from service.parallel import analyse_on_cores


def test_processes_do_not_change_the_report() -> None:
    columns = synthetic.simulate_demo(seed=11, n_users=60).columns()
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
