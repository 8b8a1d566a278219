"""Analyses split by user and run on this machine's cores.

Per-user work is independent and mechanic statistics are sums, so `models.analysis` analyses
partitions of users separately and merges them into the report a single pass would give. This
module supplies the map that runs those partitions in worker processes; a distributed engine
could supply another map running the same `analyse_partition` calls elsewhere.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait

from models.analysis import Analysis, AnalysisConfig, PartialAnalysis, Progress, analyse
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
    with contextlib.ExitStack() as stack:
        if pool is None:
            pool = stack.enter_context(AnalysisPool(processes))
        return analyse(
            columns,
            config=config,
            table=table,
            progress=progress,
            partition_map=functools.partial(bounded_map, pool.executor, processes + 1),
            min_partitions=processes,
        )


def bounded_map(
    executor: Executor,
    in_flight: int,
    analyse_one: Callable[[EventColumns], PartialAnalysis],
    parts: Iterable[EventColumns],
) -> Iterator[PartialAnalysis]:
    """`analyse_one` of each part on `executor`'s processes, yielded in order, with at most
    `in_flight` parts submitted and not yet finished.

    With one part more in flight than there are processes, the next part is made and sent
    while the processes work, so a process that finishes never waits for it, and this process
    holds `in_flight` partition copies, not one for every partition.
    """
    running: dict[Future[PartialAnalysis], int] = {}
    finished: dict[int, PartialAnalysis] = {}
    next_index = 0
    for index, part in enumerate(parts):
        while len(running) >= in_flight:
            _collect(running, finished)
            while next_index in finished:
                yield finished.pop(next_index)
                next_index += 1
        running[executor.submit(analyse_one, part)] = index
        del part
    while running:
        _collect(running, finished)
    while next_index in finished:
        yield finished.pop(next_index)
        next_index += 1


def _collect(
    running: dict[Future[PartialAnalysis], int], finished: dict[int, PartialAnalysis]
) -> None:
    done, _ = wait(running, return_when=FIRST_COMPLETED)
    for future in done:
        finished[running.pop(future)] = future.result()
