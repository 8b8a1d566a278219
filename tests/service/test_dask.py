"""Audits on a Dask distributed cluster (a real `LocalCluster` of two worker processes): the
partitions run on its workers and the report is the one this machine gives, byte for byte."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import orjson
import pytest
from distributed import LocalCluster
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from models import synthetic
from models.analysis import AnalysisConfig, analyse
from models.rules import DEFAULT_TABLE
from service.app import create_app
from service.audits import runner
from service.audits.distributed import ClusterUnavailable, analyse_on_cluster
from service.audits.offline import audit_files
from service.audits.planning import plan_audit
from service.audits.worker import run_one
from service.storage.db import make_sessionmaker
from tests.service.conftest import make_project, settings_for
from tests.service.servers import BIN

# fields a stored report has of its own audit: its id, creation time and chain digests
PER_AUDIT = {"id", "created_at", "digest", "previous_report_digest"}


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    with LocalCluster(
        n_workers=2,
        processes=True,
        threads_per_worker=1,
        scheduler_port=0,
        dashboard_address=None,
        host="127.0.0.1",
    ) as cluster:
        yield str(cluster.scheduler_address)


def test_partitions_on_the_cluster_give_the_report_of_a_single_pass(scheduler: str) -> None:
    columns = synthetic.simulate_demo(seed=11, n_users=60).events
    config = dataclasses.replace(AnalysisConfig(), partition_events=1000)
    assert len(columns) > 4 * config.partition_events  # several partitions per worker
    single = analyse(columns, config=config, table=DEFAULT_TABLE)
    stages: list[tuple[str, int, int]] = []
    spread = analyse_on_cluster(
        columns,
        config=config,
        table=DEFAULT_TABLE,
        scheduler=scheduler,
        progress=lambda stage, done, total: stages.append((stage, done, total)),
    )
    fits = [s for s in stages if s[0] == "fits"]
    assert fits[-1][1] == fits[-1][2] >= 5  # every partition came back from the workers
    assert spread.as_dict() == single.as_dict()
    assert list(spread.user_records()) == list(single.user_records())


def audit(*args: str | Path) -> dict[str, Any]:
    done = subprocess.run(
        [str(BIN / "retention-audit"), "audit", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return dict(orjson.loads(done.stdout))


class FrozenClock(datetime):
    """`datetime` whose `now` is one fixed instant: the report's creation time is the one
    field two runs cannot share, and the digest covers it."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> FrozenClock:
        return cls(2026, 12, 1, 12, 0, tzinfo=tz)


def test_a_cluster_gives_the_local_report_byte_for_byte(
    scheduler: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "datetime", FrozenClock)
    events = synthetic.demo_native_events(seed=5, n_users=40)
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    plan = plan_audit({"config": {"partition_events": 1000}})
    local = audit_files([path], plan, processes=1)
    remote = audit_files([path], plan, scheduler=scheduler)
    assert remote["digest"] == local["digest"]
    assert orjson.dumps(remote) == orjson.dumps(local)
    assert len({row["user_id"] for row in remote["user_results"]}) == 40


def test_the_command_takes_a_scheduler(scheduler: str, tmp_path: Path) -> None:
    events = synthetic.demo_native_events(seed=6, n_users=30)
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    local = audit(path, "--processes", "1")
    remote = audit(path, "--scheduler", scheduler)
    made_at = ("created_at", "digest")
    assert {k: v for k, v in remote.items() if k not in made_at} == {
        k: v for k, v in local.items() if k not in made_at
    }


def test_an_unreachable_scheduler_is_named() -> None:
    columns = synthetic.simulate_demo(seed=3, n_users=5).events
    with pytest.raises(ClusterUnavailable, match=r"no Dask scheduler at tcp://127\.0\.0\.1:9"):
        analyse_on_cluster(
            columns,
            config=AnalysisConfig(),
            table=DEFAULT_TABLE,
            scheduler="tcp://127.0.0.1:9",
        )


def test_the_command_names_an_unreachable_scheduler_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    events = synthetic.demo_native_events(seed=6, n_users=5)
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    done = subprocess.run(
        [str(BIN / "retention-audit"), "audit", str(path), "--scheduler", "tcp://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert "no Dask scheduler at tcp://127.0.0.1:9" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_service_worker_runs_its_audit_on_the_cluster(
    scheduler: str, clean_database: Engine, database_url: str
) -> None:
    app = create_app(settings_for(database_url, run_audits_in_process=False))
    project = make_project(clean_database, "cluster")
    factory = make_sessionmaker(clean_database)
    events = synthetic.demo_native_events(seed=8, n_users=30)
    config = {"config": {"partition_events": 1000}}
    with TestClient(app) as client:
        stored = client.post("/v1/events", json=events, headers=project.auth).json()
        assert stored["accepted"] == len(events)
        reports = []
        for engine in ({"processes": 1}, {"scheduler": scheduler}):
            queued = client.post("/v1/audits", json=config, headers=project.auth).json()
            assert run_one(factory, worker="test", **engine) == "succeeded"  # type: ignore[arg-type]
            done = client.get(f"/v1/audits/{queued['id']}", headers=project.auth).json()
            reports.append({k: v for k, v in done["report"].items() if k not in PER_AUDIT})
        # the worker's audit does go to the scheduler named: one that is not there fails it
        queued = client.post("/v1/audits", json=config, headers=project.auth).json()
        assert run_one(factory, worker="test", scheduler="tcp://127.0.0.1:9") == "failed"
        failed = client.get(f"/v1/audits/{queued['id']}", headers=project.auth).json()
        assert "no Dask scheduler at tcp://127.0.0.1:9" in str(failed)
    local, remote = reports
    assert remote == local
    assert {m["mechanic"] for m in local["mechanics"]} >= {"daily_reward"}
