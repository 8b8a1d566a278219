"""Analyses split by user and run on this machine's cores.

Per-user work is independent and mechanic statistics are sums, so `models.analysis` analyses
partitions of users separately and merges them into the report a single pass would give. This
module runs those partitions in worker processes; a distributed engine could run the same
`analyse_partition` calls elsewhere and hand the partial results to the same `merge`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import multiprocessing
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from models.analysis import (
    Analysis,
    AnalysisConfig,
    PartialAnalysis,
    Progress,
    analyse,
    analyse_partition,
    iter_user_partitions,
    merge,
)
from models.columns import EventColumns
from models.rules import DecisionTable
from models.warmup import load_analysis_kernels


class AnalysisPool:
    """Worker processes for an audit's partitions, started before they are needed.

    Starting a process and importing the models into it takes about a second and a half; an
    audit starts its pool before reading its events (a read whose last part is single-threaded
    Python), so the workers are ready when the first partition is. Use as a context manager.
    """

    def __init__(self, processes: int) -> None:
        self.processes = processes
        # forkserver: children start from a clean process, not a fork of one holding database
        # connections and threads.
        self.executor = ProcessPoolExecutor(
            max_workers=processes, mp_context=multiprocessing.get_context("forkserver")
        )
        for _ in range(processes):
            self.executor.submit(warm_up)

    def __enter__(self) -> AnalysisPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.executor.shutdown(cancel_futures=True)


def warm_up() -> None:
    """Run in a new worker process: unpickling this function imports this module, and with it
    the whole analysis (models.analysis, scipy); then the compiled kernels load."""
    load_analysis_kernels()


def analyse_on_cores(
    columns: EventColumns,
    *,
    config: AnalysisConfig,
    table: DecisionTable,
    progress: Progress | None = None,
    processes: int = 1,
    pool: AnalysisPool | None = None,
) -> Analysis:
    """`models.analysis.analyse`, with its user partitions spread over `processes` processes
    (those of `pool` when given, else a pool made here).

    Small inputs (one partition's worth) are analysed in this process.
    """
    if pool is not None:
        processes = pool.processes
    if processes <= 1 or len(columns) <= config.partition_events:
        return analyse(columns, config=config, table=table, progress=progress)
    if config.observed_until is None:
        # Every partition must share the window's end, or their censoring would differ.
        config = dataclasses.replace(config, observed_until=float(columns.t.max()))
    n_parts = max(processes, math.ceil(len(columns) / config.partition_events))
    parts = iter_user_partitions(columns, n_parts)
    partials: dict[int, PartialAnalysis] = {}
    with contextlib.ExitStack() as stack:
        if pool is None:
            pool = stack.enter_context(AnalysisPool(processes))
        # Keep one partition more than there are processes in flight: the next one is made and
        # sent while the processes work, so a process that finishes never waits for it (that
        # wait cost a 10M audit about a second), and this process holds `processes + 1`
        # partition copies, not one for every partition.
        running: dict[Future[PartialAnalysis], int] = {}
        for index, part in enumerate(parts):
            if len(running) > processes:
                _collect(running, partials, progress, n_parts)
            running[pool.executor.submit(analyse_partition, part, config=config)] = index
            del part
        while running:
            _collect(running, partials, progress, n_parts)
    ordered = [partials[i] for i in sorted(partials)]
    return merge(ordered, config=config, table=table, progress=progress)


def _collect(
    running: dict[Future[PartialAnalysis], int],
    partials: dict[int, PartialAnalysis],
    progress: Progress | None,
    total: int,
) -> None:
    done, _ = wait(running, return_when=FIRST_COMPLETED)
    for future in done:
        partials[running.pop(future)] = future.result()
    if progress is not None:
        progress("fits", len(partials), total)
