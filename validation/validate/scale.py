"""The scale run: 100,000 users and 10 million events, timed, with the peak memory."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass

from models.analysis import AnalysisConfig, analyse
from models.rules import DEFAULT_TABLE
from models.synthetic import (
    bulk_events,
)


@dataclass(frozen=True, kw_only=True)
class ScaleBar:
    users: int
    events: int
    seconds: float
    peak_rss_gb: float


def scale_bar(n_users: int = 100_000, n_events: int = 10_000_000, *, seed: int = 0) -> ScaleBar:
    columns = bulk_events(n_users, n_events, seed=seed)
    start = time.perf_counter()
    analyse(columns, config=AnalysisConfig(), table=DEFAULT_TABLE)
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux
    return ScaleBar(users=n_users, events=len(columns), seconds=seconds, peak_rss_gb=rss)
