"""Loading the compiled kernels of an analysis ahead of its first partition."""

from __future__ import annotations

import numpy as np

from models.amounts import _top_two
from models.engagement.newton import engagement_fits
from models.expectation import rescorla_wagner_units
from models.ordering import bucket_time_order
from models.schedule.counting import life_table_counts


def load_analysis_kernels() -> None:
    """Compile (or load from numba's cache) the kernels an analysis runs, by running each once
    on a few rows — for a worker process started ahead of its first partition."""
    _top_two(np.zeros(1, np.int64), np.ones(1), np.ones(1, np.bool_), np.zeros(1), np.zeros(1))
    bucket_time_order(np.array([1, 0]), np.array([0.0, 1.0]), keys_per_bucket=2, keys=2)
    one = np.ones(1, dtype=np.int64)
    rescorla_wagner_units(np.ones(1), one * 0, one, np.full(1, 0.5), 0.0)
    yes = np.ones(1, dtype=np.bool_)
    engagement_fits(
        np.ones(1), yes, yes, one * 0, one, np.full((1, 1), 0.5), np.zeros((1, 3)),
        v0=0.0, ridge=0.01, iterations=2, tolerance=1e-5, exact=True, with_reduced=True,
    )  # fmt: skip
    first = np.zeros(1, dtype=np.int32)
    life_table_counts(
        np.ones(1, dtype=np.bool_), one * 0, one, first, first, np.zeros((1, 2), np.int32),
        np.zeros(1), first, np.zeros(1), shape=(2, 4, 3, 3, 4, 2), bins=(1.0, 1.0, -1.0, 20.0),
    )  # fmt: skip
