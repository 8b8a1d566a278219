"""The life tables of a schedule, counted in one compiled pass."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.compiled import compiled


@compiled
def _life_table_counts(
    win: NDArray[np.bool_],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    session_first: NDArray[np.int32],
    day_first: NDArray[np.int32],
    days: NDArray[np.int32],
    t: NDArray[np.float64],
    tempo: NDArray[np.int32],
    rate: NDArray[np.float64],
    shape: NDArray[np.int64],
    bins: NDArray[np.float64],
    count: NDArray[np.int64],
    session: NDArray[np.int64],
    daily: NDArray[np.int64],
    clock: NDArray[np.int64],
    tempo_table: NDArray[np.int64],
    expected: NDArray[np.float64],
    open_span: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled; covered through `life_table_counts`
    k_max, n_day, undefined, n_time = shape[0], shape[1], shape[2], shape[3]
    scale, offset = np.float32(bins[0]), np.float32(bins[1])
    log10_min, per_decade = bins[2], bins[3]
    low, high = np.float32(-0.5), np.float32(n_time - 0.5)
    half, margin = np.float32(0.5), np.float32(0.5 - 1e-3)
    for u in range(start.shape[0]):
        first = start[u]
        last = -1  # the unit's latest valuable outcome so far
        for i in range(first, first + length[u]):
            w = 1 if win[i] else 0
            run_first = max(last + 1, first)
            k_bin = min(i - run_first, k_max)
            k_session = min(i - max(run_first, session_first[i]), k_max)
            k_daily = min(i - max(run_first, day_first[i]), k_max)
            after = 1 if last >= 0 else 0
            count[k_bin * 4 + after * 2 + w] += 1
            session[k_session * 2 + w] += 1
            daily[k_daily * 2 + w] += 1
            if after:
                # the time bin of `models.schedule.states._finite_time_bin`, step for step: a
                # single-precision logarithm, redone in double precision near a bin's edge
                x = t[i] - t[last]
                z = np.float32(np.float32(np.log(np.float32(x))) * scale) + offset
                z = min(max(z, low), high)
                whole = np.float32(np.floor(z))
                if abs(np.float32(np.float32(z - whole) - half)) < margin:
                    e_bin = max(np.int64(whole), 0)
                else:
                    exact = np.floor((np.log10(max(x, 1e-300)) - log10_min) * per_decade)
                    e_bin = min(max(np.int64(exact) + 1, 0), n_time - 1)
                gap_local = min(max(days[i, 0] - days[last, 0], 0), 2)
                gap_utc = min(max(days[i, 1] - days[last, 1], 0), 2)
                day = gap_local * n_day + gap_utc
            else:
                e_bin = undefined
                day = n_day * n_day - 1
            clock[(e_bin * n_day * n_day + day) * 2 + w] += 1
            tempo_table[tempo[i] * 2 + w] += 1
            expected[tempo[i]] += rate[u]
            if w:
                last = i
        end = first + length[u] - 1
        open_span[u] = t[end] - t[last] if last >= 0 else np.nan


def life_table_counts(
    win: NDArray[np.bool_],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    session_first: NDArray[np.int32],
    day_first: NDArray[np.int32],
    days: NDArray[np.int32],
    t: NDArray[np.float64],
    tempo: NDArray[np.int32],
    rate: NDArray[np.float64],
    *,
    shape: tuple[int, int, int, int, int, int],
    bins: tuple[float, float, float, float],
) -> tuple[NDArray[Any], ...]:
    """The life-table histograms of one definition of a valuable outcome, in one pass over
    the responses (units' rows in time order): see
    `models.schedule.life_tables._outcome_tables`, which assembles the tables from them.

    shape: (K_MAX, N_DAY, TIME_UNDEFINED, N_TIME, N_TIME_ALL, N_TENURE); bins: the time bin's
    single-precision scale and offset, then TIME_LOG10_MIN and TIME_PER_DECADE.
    Returns (count (N_COUNT·4), session, daily (N_COUNT·2), clock (N_TIME_ALL·N_DAY²·2),
    tempo (N_TIME_ALL·N_TENURE·2), expected (N_TIME_ALL·N_TENURE) float, open_span (u,): time
    from each unit's last valuable outcome to its last response, NaN when it had none).
    """
    k_max, n_day, _, _, n_time_all, n_tenure = shape
    n_count = k_max + 1
    count = np.zeros(n_count * 4, dtype=np.int64)
    session = np.zeros(n_count * 2, dtype=np.int64)
    daily = np.zeros(n_count * 2, dtype=np.int64)
    clock = np.zeros(n_time_all * n_day * n_day * 2, dtype=np.int64)
    tempo_table = np.zeros(n_time_all * n_tenure * 2, dtype=np.int64)
    expected = np.zeros(n_time_all * n_tenure, dtype=np.float64)
    open_span = np.empty(start.shape[0], dtype=np.float64)
    _life_table_counts(
        np.ascontiguousarray(win, dtype=np.bool_),
        np.ascontiguousarray(start, dtype=np.int64),
        np.ascontiguousarray(length, dtype=np.int64),
        np.ascontiguousarray(session_first, dtype=np.int32),
        np.ascontiguousarray(day_first, dtype=np.int32),
        np.ascontiguousarray(days, dtype=np.int32),
        np.ascontiguousarray(t, dtype=np.float64),
        np.ascontiguousarray(tempo, dtype=np.int32),
        np.ascontiguousarray(rate, dtype=np.float64),
        np.array(shape[:4], dtype=np.int64),
        np.array(bins, dtype=np.float64),
        count, session, daily, clock, tempo_table, expected, open_span,
    )  # fmt: skip
    return count, session, daily, clock, tempo_table, expected, open_span
