"""The states a response is made in: responses since the last valuable outcome, log-time bins,
calendar days, tenure, and the magnitude ladder of reward tiers."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

# ---- binning (fixed, data-independent, so partitions add up)
K_MAX = 256  # exact count states 1..256, then one overflow state; pity caps are ≤ 90 in practice


N_COUNT = K_MAX + 1


TIME_LOG10_MIN, TIME_LOG10_MAX, TIME_PER_DECADE = -1.0, 8.0, 20  # 0.1 s .. 3 years, 12 % bins


N_TIME_REGULAR = round((TIME_LOG10_MAX - TIME_LOG10_MIN) * TIME_PER_DECADE)


N_TIME = N_TIME_REGULAR + 2  # + below 0.1 s, + above 3 years


TIME_UNDEFINED = N_TIME  # no previous reward / no previous response


N_TIME_ALL = N_TIME + 1


N_DAY = 4  # same calendar day, next day, two or more days later, undefined


N_TENURE = 32  # log₂ bins of the unit's response ordinal (1, 2–3, 4–7, …)


LADDER_PER_DECADE = 4  # magnitude tiers 10^(j/4): steps of 78 %


def time_bin(x: NDArray[np.float64]) -> NDArray[np.int64]:
    """(n,) log-time bin of durations x ≥ 0 (seconds); NaN → TIME_UNDEFINED.

    The bin is ⌊(log₁₀ max(x, 10⁻³⁰⁰) + 1)·20⌋ + 1, clipped to [0, N_TIME)."""
    out = np.full(x.shape[0], TIME_UNDEFINED, dtype=np.int64)
    ok = np.flatnonzero(np.isfinite(x))
    out[ok] = _finite_time_bin(x[ok])
    return out


_BIN_SCALE = np.float32(TIME_PER_DECADE / np.log(10.0))


_BIN_OFFSET = np.float32(1.0 - TIME_LOG10_MIN * TIME_PER_DECADE)


def _finite_time_bin(x: NDArray[np.float64]) -> NDArray[np.int32]:
    """`time_bin` of finite durations x ≥ 0, found with a single-precision logarithm (several
    times faster) and recomputed in double precision where that lands within 10⁻³ of a bin
    edge — far beyond single precision's error here (≈ 10⁻⁴) — so every bin is exactly the
    double-precision one."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = np.log(x.astype(np.float32))
        z *= _BIN_SCALE
        z += _BIN_OFFSET  # ⌊z⌋ is the bin
        # half a bin beyond either end is surely outside (and never near an edge)
        np.clip(z, np.float32(-0.5), np.float32(N_TIME - 0.5), out=z)
        whole = np.floor(z)
        z -= whole
        z -= np.float32(0.5)
        edge = np.flatnonzero(~(np.abs(z) < np.float32(0.5 - 1e-3)))
        exact = np.floor((np.log10(np.maximum(x[edge], 1e-300)) - TIME_LOG10_MIN) * TIME_PER_DECADE)
    out = np.maximum(whole.astype(np.int32), 0)
    out[edge] = np.clip(exact + 1, 0, N_TIME - 1).astype(np.int32)
    return out


def time_bin_mid() -> NDArray[np.float64]:
    """(N_TIME,) representative duration of each time bin (geometric centre)."""
    i = np.arange(N_TIME, dtype=np.float64)
    mid = 10.0 ** (TIME_LOG10_MIN + (i - 0.5) / TIME_PER_DECADE)
    mid[0] = 10.0**TIME_LOG10_MIN / 2.0
    mid[-1] = 10.0**TIME_LOG10_MAX * 1.5
    return mid


def time_bin_lower(i: int) -> float:
    """Lower edge (seconds) of time bin i."""
    return 0.0 if i <= 0 else float(10.0 ** (TIME_LOG10_MIN + (i - 1) / TIME_PER_DECADE))


def rung_value(j: int | NDArray[np.int64]) -> Any:
    """Magnitude threshold of ladder rung j: 10^(j/4)."""
    return 10.0 ** (np.asarray(j, dtype=np.float64) / LADDER_PER_DECADE)


def rung_index(m: NDArray[np.float64]) -> NDArray[np.int64]:
    """(n,) the rung j with rung_value(j) ≤ m < rung_value(j+1), for m > 0."""
    j = np.floor(np.log10(m) * LADDER_PER_DECADE).astype(np.int64)
    j = np.where(m >= rung_value(j + 1), j + 1, j)
    return np.asarray(np.where(m < rung_value(j), j - 1, j), dtype=np.int64)
