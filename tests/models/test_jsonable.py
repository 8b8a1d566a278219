"""Plain JSON values: the vectorised 10-digit rounding is the string rounding, bit for bit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.jsonable import column_values, jsonable, round_significant, round_value

# values where decimal and binary rounding could part: exact ties, powers of ten and their
# neighbours, the ends of the fast range, zeros of both signs, extremes, non-finite values
EDGES = np.array(
    [
        0.0, -0.0, math.nan, math.inf, -math.inf, 5e-324, -5e-324, 2.2250738585072014e-308,
        1.7976931348623157e308, -1.7976931348623157e308, 1234567890.5, 1234567891.5,
        -1234567890.5, 9.9999999995, 9.99999999949999, 999999999.95, 9999999999.5, 0.1, 1 / 3,
        2.5e-7, 1e-13, 1e-14, 9.99999999995e-14, 1e10, 9999999999.0, 1e22, 1e23, 0.5, 1.0, 10.0,
        100.0, 1000.0, 1e9, 123456789012.0, 0.30000000000000004, 2.675, 1.0000000005,
    ]
)  # fmt: skip


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (
        a == b and math.copysign(1, a) == math.copysign(1, b)
    )


def _sample(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = 20_000
    near_ten = 10.0 ** np.arange(-25, 25)
    return np.concatenate(
        [
            EDGES,
            rng.normal(size=n) * 10.0 ** rng.integers(-30, 30, n),
            rng.random(n),
            np.round(rng.random(n) * 1e6, 2),  # money
            (rng.integers(0, 10**11, n) * 10 + 5) / 1e11,  # 11 digits ending in 5
            rng.integers(0, 10**10, n) + 0.5,
            near_ten,
            np.nextafter(near_ten, np.inf),
            np.nextafter(near_ten, -np.inf),
        ]
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_round_significant_is_the_string_rounding(seed: int) -> None:
    values = _sample(seed)
    rounded = round_significant(values).tolist()
    for x, got in zip(values.tolist(), rounded, strict=True):
        want = round_value(x) if math.isfinite(x) else x
        assert _same(got, want), repr(x)


def test_round_significant_of_float32_and_empty() -> None:
    x = np.array([0.1, 1.5, np.nan], dtype=np.float32)
    want = [round_value(float(np.float32(0.1))), 1.5, math.nan]
    assert all(_same(a, b) for a, b in zip(round_significant(x).tolist(), want, strict=True))
    assert round_significant(np.zeros(0)).shape == (0,)


@pytest.mark.parametrize(
    "column",
    [
        _sample(2),
        np.where(np.arange(5000) % 7 == 0, 1.5, np.nan),  # mostly missing
        np.array([True, False, True]),
        np.array([1, -2, 3], dtype=np.int64),
        np.array(["a", "b"], dtype=object),
        np.array(["a", np.float64(0.123456789012), None, 3], dtype=object),
        np.zeros(0),
    ],
)
def test_column_values_equal_value_by_value_conversion(column: np.ndarray) -> None:
    got = column_values(column)
    want = [jsonable(x) for x in column]
    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert type(a) is type(b)
        if isinstance(a, float):
            assert _same(a, b)
        else:
            assert a == b


def test_jsonable_converts_nested_values() -> None:
    value = {
        1: np.float64(1 / 3),
        "a": [np.int32(2), (np.bool_(True), math.nan)],
        "m": np.array([[0.5, math.inf]]),
    }
    assert jsonable(value) == {
        "1": 0.3333333333,
        "a": [2, [True, None]],
        "m": [[0.5, None]],
    }
