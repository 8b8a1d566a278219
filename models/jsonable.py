"""Plain JSON values for reports: floats to 10 significant digits, NaN and infinities to None.

Ten significant digits make a report stable across summation order (the last bits of a float
sum depend on it) while keeping every figure far more precise than its uncertainty. The
rounding is `float(f"{x:.10g}")`: the exact binary value rounded to 10 significant decimal
digits (half to even), read back as the nearest double.

`jsonable` converts one nested value; `column_values` converts a whole (n,) column at once,
with the same result bit for bit, for the per-user table (hundreds of thousands of rows).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

SIGNIFICANT_DIGITS = 10

# 10**k for 0 ≤ k ≤ 22: exact in float64 (5**22 < 2**53), so x·10^k and x/10^k round once
_EXACT_POWERS = 22
_POW10 = np.array([float(10**k) for k in range(_EXACT_POWERS + 1)], dtype=np.float64)
_LOW = 10.0 ** (SIGNIFICANT_DIGITS - 1)
_HIGH = 10.0**SIGNIFICANT_DIGITS
# |x/10^e| < 2^34 has an ulp of at most 2^-19; a fraction within twice that of one half may
# round either way in binary, so those (rare) values take the exact string path
_TIE_BAND = 2.0**-18


def round_value(v: float) -> float:
    """float(f"{v:.10g}") — the reference definition."""
    return float(f"{v:.{SIGNIFICANT_DIGITS}g}")


def jsonable(x: Any) -> Any:
    """Plain JSON values: numpy scalars unwrapped, floats to 10 significant digits (stable
    across summation order), NaN and infinities to None; dicts, lists, tuples and arrays
    converted recursively."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        if x.ndim == 1 and x.dtype.kind in "fiub":
            return column_values(x)
        return [jsonable(v) for v in x.tolist()]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        if not math.isfinite(v):
            return None
        return round_value(v)
    return x


def round_significant(values: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
    """(n,) `round_value` of every finite value (bit for bit), non-finite values unchanged.

    For 10⁻¹³ ≤ |x| < 10¹⁰, with e ≤ 0 the exponent of the 10th significant digit, y = x·10^−e
    is rounded once (10^k is exact for k ≤ 22), rounded half to even to an integer M, and
    M/10^−e is again one correctly rounded operation on exact operands: the nearest double to
    the decimal, as `float(str)` gives. Other values, and those whose y lies within rounding
    error of a half (where binary rounding could differ from decimal rounding), take the
    string path.
    """
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # the decimal exponent from a single-precision logarithm (fast); where it is one off,
        # next to a power of ten, |y| falls outside [10⁹, 10¹⁰) and is corrected once
        log10 = np.log(np.abs(v).astype(np.float32)) * np.float32(1.0 / math.log(10.0))
        k = np.clip((SIGNIFICANT_DIGITS - 1) - np.floor(log10), -1, _EXACT_POWERS + 1)
        # non-finite values and zeros give k = ±inf or NaN, clipped out of range or NaN
        in_range = (k >= 0) & (k <= _EXACT_POWERS)
        ki = np.where(in_range, k, 0).astype(np.intp)
        a = np.abs(v * _POW10[ki])
        ki += (a < _LOW) & (ki < _EXACT_POWERS)
        ki -= (a >= _HIGH) & (ki > 0)
        p = _POW10[ki]
        y = v * p
        a = np.abs(y)
        fast = in_range & (a >= _LOW) & (a < _HIGH) & (np.abs(a - np.floor(a) - 0.5) > _TIE_BAND)
        out = np.where(fast, np.rint(y) / p, v)
    for i in np.flatnonzero(~fast & np.isfinite(v) & (v != 0.0)).tolist():
        out[i] = round_value(float(v[i]))
    return out


def column_values(column: NDArray[Any]) -> list[Any]:
    """(n,) column → list of plain JSON values, equal to `[jsonable(x) for x in column]`."""
    kind = column.dtype.kind
    if kind == "f":
        rounded = round_significant(column)
        # the input's NaN and infinities (a finite value may round up to infinity, as a float)
        finite = np.isfinite(column)
        missing = np.flatnonzero(~finite)
        if missing.size > rounded.shape[0] // 4:  # mostly missing: box only the values
            boxed = np.full(rounded.shape[0], None, dtype=object)
            boxed[finite] = rounded[finite]
            return boxed.tolist()
        out: list[Any] = rounded.tolist()
        for i in missing.tolist():
            out[i] = None
        return out
    items: list[Any] = column.tolist()
    if kind in "iub" or set(map(type, items)) <= {str}:
        return items
    return [jsonable(x) for x in items]
