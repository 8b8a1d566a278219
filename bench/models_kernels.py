"""Micro-benchmark of the numerical core's hot paths, in memory (no database).

    python bench/models_kernels.py                  # 10M events, 100k users
    python bench/models_kernels.py --events 2000000
    python bench/models_kernels.py --smoke          # small sizes

On one synthetic log (bench.common.synthetic_log: skewed users, four mechanics), prints as JSON:

- expectation kernel: `models.expectation.rescorla_wagner_values` (V after each response, what
  pandas returns) and `models.expectation.rescorla_wagner` (V before, δ and V after) at a
  shared α against pandas `groupby('unit')['r'].ewm(alpha, adjust=False).mean()` on the same
  arrays (the harness of bench/audit.py), and — for scale — one `scipy.signal.lfilter` over
  the concatenated units, the fastest sequential filter scipy has (it leaks state between
  units, so it is a floor on a single pass, not an alternative);
- `models.engagement.fit_engagement` over every unit of the log's trials (the analysis'
  configuration): seconds, units fitted, and how many fitted units report a log-likelihood
  below their intercept-only null's (a fit that failed to optimise: the model nests the null);
- `analyse_partition`: CPU seconds per million events for one partition (partition_events);
- `Analysis.user_rows()`: microseconds per row, streamed.

Times are the best of `--repeat` runs (pandas: of two); the machine may be shared, so compare
figures taken in one run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import synthetic_columns, synthetic_log
from models.analysis import AnalysisConfig, analyse, analyse_partition, split_by_user
from models.columns import EventColumns
from models.engagement import FITTED, EngagementConfig, fit_engagement
from models.expectation import rescorla_wagner, rescorla_wagner_values
from models.rules import DEFAULT_TABLE
from models.segments import Segments
from models.trials import build_trials

ALPHA = 0.1


def columns_of(n: int, users: int) -> EventColumns:
    columns: EventColumns = synthetic_columns(synthetic_log(n, users=users), users)
    return columns


def best_of(repeat: int, run: Callable[[], Any], clock: Callable[[], float]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = clock()
        run()
        best = min(best, clock() - start)
    return best


def expectation_kernel(
    columns: EventColumns, repeat: int, *, session_gap_s: float = AnalysisConfig.session_gap_s
) -> dict[str, Any]:
    """The expectation recurrence V ← V + α(r − V) per (user, mechanic) on `columns`' trials:
    the compiled kernel against pandas on the same arrays, and their largest difference."""
    import pandas as pd
    from scipy.signal import lfilter

    trials = build_trials(
        columns, session_gap_s=session_gap_s, observed_until=float(columns.t.max())
    )
    reward, units = trials.reward, trials.units
    alpha = np.full(units.count, ALPHA)
    # warm the compiled kernels (loaded from numba's cache, or compiled on a first run)
    rescorla_wagner_values(reward[:1], units.start[:1], np.ones(1, np.int64), alpha[:1], 0.0)
    rescorla_wagner(reward[:1], Segments.from_lengths(np.ones(1, np.int64)), ALPHA)
    values = best_of(
        repeat,
        lambda: rescorla_wagner_values(reward, units.start, units.length, alpha, 0.0),
        time.perf_counter,
    )
    ours = best_of(repeat, lambda: rescorla_wagner(reward, units, ALPHA), time.perf_counter)
    flat = best_of(
        repeat, lambda: lfilter([ALPHA], [1.0, -(1.0 - ALPHA)], reward), time.perf_counter
    )
    frame = pd.DataFrame({"unit": units.index, "r": reward})

    def ewm() -> Any:
        return frame.groupby("unit")["r"].ewm(alpha=ALPHA, adjust=False).mean()

    theirs = best_of(2, ewm, time.perf_counter)
    return {
        "responses": int(reward.shape[0]),
        "units": units.count,
        "kernel_values_s": round(values, 5),
        "rescorla_wagner_s": round(ours, 5),
        "lfilter_concatenated_s": round(flat, 5),
        "pandas_ewm_s": round(theirs, 3),
        "pandas_to_kernel_ratio": round(theirs / values, 1),
        "pandas_to_rescorla_wagner_ratio": round(theirs / ours, 1),
        "kernel_vs_pandas_max_abs_difference": _difference(reward, units, ewm().to_numpy()),
    }


def _difference(reward: NDArray[np.float64], units: Segments, theirs: NDArray[Any]) -> float:
    """Largest |pandas − kernel| from the same start: pandas' ewm with adjust=False begins each
    unit at its first reward r₁, the model at v₀; Rescorla-Wagner is affine in (r, v₀), so the
    kernel run on r − r₁ from v₀ = 0, plus r₁, starts where pandas does. Both list the rows
    unit by unit, in order."""
    if reward.shape[0] == 0:
        return 0.0
    first = units.broadcast(reward[units.start])
    shifted = rescorla_wagner_values(
        reward - first, units.start, units.length, np.full(units.count, ALPHA), 0.0
    )
    return float(np.max(np.abs(theirs - (shifted + first))))


def engagement_fit(columns: EventColumns, repeat: int) -> dict[str, Any]:
    """The engagement fit of every unit of `columns`' trials, as `analyse` configures it."""
    config = AnalysisConfig(observed_until=float(columns.t.max()))
    trials = build_trials(
        columns, session_gap_s=config.session_gap_s, observed_until=float(columns.t.max())
    )
    settings = EngagementConfig(
        alpha_grid=config.alpha_grid,
        alpha_min=config.alpha_min,
        alpha_max=config.alpha_max,
        v0=config.v0,
    )

    def run() -> Any:
        return fit_engagement(
            trials.reward, trials.continued, trials.censored, trials.units,
            min_responses=config.min_responses_fit, config=settings,
        )  # fmt: skip

    fit = run()  # warm the compiled kernel
    seconds = best_of(repeat, run, time.perf_counter)
    fitted = fit.status == FITTED
    below = fitted & (fit.loglik < fit.loglik_null - 1e-6)
    return {
        "responses": int(trials.reward.shape[0]),
        "units_fitted": int(fitted.sum()),
        "seconds": round(seconds, 3),
        "us_per_fitted_unit": round(seconds / max(int(fitted.sum()), 1) * 1e6, 1),
        "loglik_below_null": int(below.sum()),
    }


def partition(columns: EventColumns, repeat: int) -> dict[str, Any]:
    """The first of the partitions `analyse` would make (users whole, ≤ 2M events)."""
    config = AnalysisConfig(observed_until=float(columns.t.max()))
    part = split_by_user(columns, math.ceil(len(columns) / config.partition_events))[0]
    seconds = best_of(repeat, lambda: analyse_partition(part, config=config), time.process_time)
    return {
        "events": len(part),
        "cpu_s": round(seconds, 3),
        "cpu_s_per_million_events": round(seconds / len(part) * 1e6, 3),
    }


def user_rows(columns: EventColumns, repeat: int) -> dict[str, Any]:
    analysis = analyse(
        columns, config=AnalysisConfig(observed_until=float(columns.t.max())), table=DEFAULT_TABLE
    )
    rows = len(analysis.users)

    def stream() -> None:
        for _ in analysis.user_rows():
            pass

    seconds = best_of(repeat, stream, time.perf_counter)
    return {"rows": rows, "us_per_row": round(seconds / max(rows, 1) * 1e6, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, help="default: events / 100")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="small sizes")
    args = parser.parse_args()
    n = 50_000 if args.smoke else args.events
    users = args.users or max(n // 100, 10)
    columns = columns_of(n, users)
    out = {
        "events": n,
        "users": users,
        "expectation_kernel": expectation_kernel(columns, args.repeat),
        "engagement_fit": engagement_fit(columns, args.repeat),
        "analyse_partition": partition(columns, 1 if args.smoke else 2),
        "user_rows": user_rows(
            columns if n <= 2_000_000 else columns_of(1_000_000, 10_000), args.repeat
        ),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
