"""An audit of events: users split into partitions of bounded size, each partition analysed
(`analyse_partition`), the partial results merged (`merge`) into the report a single pass
would give. The partitions are analysed by a map: in this process by default, or by any
map-like callable (a process pool, a cluster) that yields the results in order.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable

from models.amounts import amount_bounds
from models.analysis.config import AnalysisConfig
from models.analysis.merge import Progress, merge
from models.analysis.partition import analyse_partition
from models.analysis.partitions import PartialAnalysis, iter_user_partitions, with_window_end
from models.analysis.report import Analysis
from models.columns import EventColumns
from models.rules import DecisionTable

# applies the analysis of one partition to every partition, yielding the results in order
PartitionMap = Callable[
    [Callable[[EventColumns], PartialAnalysis], Iterable[EventColumns]],
    Iterable[PartialAnalysis],
]


def analyse(
    columns: EventColumns,
    *,
    config: AnalysisConfig,
    table: DecisionTable,
    progress: Progress | None = None,
    partition_map: PartitionMap = map,
    min_partitions: int = 1,
) -> Analysis:
    """Audit the events: partitions by user of at most `config.partition_events` events (and
    at least `min_partitions` of them), analysed by `partition_map` and merged.

    The partitions are made one at a time as `partition_map` asks for them, so a map that
    keeps a few in flight holds a few partition copies, not all of them. The report is the
    same whatever the map and however many partitions there are.
    """
    config.check()
    config = with_window_end(columns, config)
    n_parts = max(1, min_partitions, math.ceil(len(columns) / config.partition_events))
    # the caps on amounts are a statistic of every user: computed once, shared by the parts
    analyse_one = functools.partial(analyse_partition, config=config, bounds=amount_bounds(columns))
    partials: list[PartialAnalysis] = []
    if progress is not None:
        progress("fits", 0, n_parts)
    for partial in partition_map(analyse_one, iter_user_partitions(columns, n_parts)):
        partials.append(partial)
        if progress is not None:
            progress("fits", len(partials), max(n_parts, len(partials)))
    return merge(partials, config=config, table=table, progress=progress)
