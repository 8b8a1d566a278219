"""Cluster benchmark: the analysis of N events on this machine's processes against the same
analysis on a Dask `LocalCluster` of two worker processes, side by side in one run, with a
plain Parquet read of the same events as the baseline.

    python bench/cluster.py [--events 10000000] [--scheduler tcp://HOST:8786]
    python bench/cluster.py --smoke          # small size, for CI

Writes N synthetic events (skewed events per user) as Parquet and times `pyarrow`'s read of
it, then analyses the events (grouped by user, as an audit hands them over) with
`analyse_on_cores` and with `analyse_on_cluster` (two local processes each; the cluster is
started and its workers load the analysis before the clock, as a cluster outlives the audits
it runs; that warm-up is reported apart) and checks that both
give the same analysis, digest for digest. `--scheduler` measures an existing cluster instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import MECHANICS, synthetic_columns, synthetic_log
from models.analysis import Analysis, AnalysisConfig
from models.canonical import canonical_events
from models.columns import EventColumns
from models.rules import DEFAULT_TABLE
from service.audits.distributed import analyse_on_cluster
from service.audits.parallel import analyse_on_cores, warm_up
from service.reports.chain import canonical_json, digest_of

SMOKE_EVENTS = 200_000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--processes", type=int, default=2, help="local processes and workers")
    parser.add_argument("--scheduler", help="an existing cluster's scheduler (default: local)")
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_EVENTS:,} events (CI)")
    args = parser.parse_args()
    n = SMOKE_EVENTS if args.smoke else args.events
    users = max(n // 100, 10)

    log = synthetic_log(n, users=users)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "events.parquet"
        _write_parquet(path, log, users)
        start = time.perf_counter()
        table = pq.read_table(path)
        read_s = time.perf_counter() - start
        del table

    columns = _grouped_columns(log, users)
    config = AnalysisConfig()
    start = time.perf_counter()
    local = analyse_on_cores(columns, config=config, table=DEFAULT_TABLE, processes=args.processes)
    local_s = time.perf_counter() - start

    if args.scheduler:
        warm_s = _warm_up(args.scheduler)
        cluster_s, remote = _on_cluster(columns, config, args.scheduler)
    else:
        from distributed import LocalCluster

        with LocalCluster(
            n_workers=args.processes,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        ) as cluster:
            warm_s = _warm_up(str(cluster.scheduler_address))
            cluster_s, remote = _on_cluster(columns, config, str(cluster.scheduler_address))

    result = {
        "events": n,
        "users": users,
        "parquet_read_s": round(read_s, 2),
        "local_processes_s": round(local_s, 2),
        "local_cluster_s": round(cluster_s, 2),
        "ratio_cluster_to_local": round(cluster_s / local_s, 3),
        "cluster_warm_up_s": round(warm_s, 2),
        "processes": args.processes,
        "local_digest": _digest(local),
        "cluster_digest": _digest(remote),
        "same_digest": _digest(local) == _digest(remote),
    }
    print(json.dumps(result, indent=2))
    if not result["same_digest"]:
        sys.exit("the cluster's analysis differs from the local one")


def _warm_up(scheduler: str) -> float:
    """Load the analysis into every worker before the clock starts, as a long-lived
    cluster's workers have it; the time it took is reported on its own."""
    from distributed import Client

    start = time.perf_counter()
    with Client(scheduler, set_as_default=False) as client:
        client.run(warm_up)
    return time.perf_counter() - start


def _on_cluster(
    columns: EventColumns, config: AnalysisConfig, scheduler: str
) -> tuple[float, Analysis]:
    start = time.perf_counter()
    analysis = analyse_on_cluster(columns, config=config, table=DEFAULT_TABLE, scheduler=scheduler)
    return time.perf_counter() - start, analysis


def _digest(analysis: Analysis) -> str:
    """The analysis as a report holds it: its figures and every per-user record."""
    rows = [list(record) for record in analysis.user_records()]
    return digest_of(canonical_json({"analysis": analysis.as_dict(), "users": rows}))


def _write_parquet(path: Path, log: Any, users: int) -> None:
    names = np.array([f"u{i:07d}" for i in range(users)])
    table = pa.table(
        {
            "user_id": names[log.user],
            "timestamp": pa.array((log.t * 1e6).astype(np.int64), pa.timestamp("us", tz="UTC")),
            "mechanic": np.array(MECHANICS)[log.mechanic],
            "kind": np.where(log.kind == 1, "reward", "response"),
            "value": log.value,
            "cost": log.cost,
        }
    )
    pq.write_table(table, path)


def _grouped_columns(log: Any, users: int) -> EventColumns:
    """The events as an audit hands them to the analysis: grouped by user, in canonical order."""
    columns = synthetic_columns(log, users)
    grouped, _summary = canonical_events(columns, (log.t * 1e6).astype(np.int64))
    return grouped


if __name__ == "__main__":
    main()
