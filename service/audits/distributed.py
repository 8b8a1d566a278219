"""Analyses split by user and run on a Dask distributed cluster.

The same partitions of users as on this machine's cores (`service.audits.parallel`), analysed
by the same `models.analysis.analyse_partition` calls, on the cluster's workers instead of
local processes; the per-partition results come back here and merge as they do locally, so
the report is the one a single machine gives, byte for byte. The workers need this package
installed (the same version: the engine's provenance is in the report).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from models.analysis import Analysis, AnalysisConfig, PartialAnalysis, Progress, analyse
from models.columns import EventColumns
from models.rules import DecisionTable
from service.audits.parallel import bounded_map

CONNECT_TIMEOUT_S = 30


class ClusterUnavailable(RuntimeError):
    """The scheduler cannot be reached, or has no worker."""


def analyse_on_cluster(
    columns: EventColumns,
    *,
    config: AnalysisConfig,
    table: DecisionTable,
    scheduler: str,
    progress: Progress | None = None,
) -> Analysis:
    """`models.analysis.analyse` with its partitions run on the workers of the Dask cluster
    whose scheduler is at `scheduler` (e.g. tcp://10.0.0.5:8786): at least one partition per
    worker thread, one more in flight than there are threads, each sent straight to a worker."""
    from distributed import Client

    try:  # distributed's API is untyped
        client: Any = Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)  # type: ignore[no-untyped-call]
    except OSError as exc:
        raise ClusterUnavailable(f"no Dask scheduler at {scheduler}: {exc}") from None
    with client:
        slots = sum(client.nthreads().values())
        if slots == 0:
            raise ClusterUnavailable(f"the Dask cluster at {scheduler} has no worker")
        executor = client.get_executor(pure=False)

        def on_workers(
            analyse_one: Callable[[EventColumns], PartialAnalysis], parts: Iterable[EventColumns]
        ) -> Iterator[PartialAnalysis]:
            # Each partition goes straight to a worker (scattered), not through the scheduler
            # inside the task, and is made only when a slot frees up (`bounded_map`).
            scattered = (client.scatter(part, direct=True, hash=False) for part in parts)
            return bounded_map(executor, slots + 1, analyse_one, scattered)

        return analyse(
            columns,
            config=config,
            table=table,
            progress=progress,
            partition_map=on_workers,
            min_partitions=slots,
        )
