"""Calibrated schedule confidence: the isotonic fit, the stored map, and its reliability on
products of the second generator, which the map was never fitted on."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import isotonic_regression

from models import calibration
from models.calibration import (
    ABSTENTION,
    CALIBRATION,
    CALIBRATION_VERSION,
    SLOT_MACHINE_CALIBRATION,
    CheckedCall,
    Knots,
    calibrated_confidence,
    calibrated_slot_machine_confidence,
    reliability,
    table_digest,
    wilson_interval,
)
from models.schedule import KINDS, SLOT_MACHINE_KINDS, identify, schedule_stats
from models.segments import Segments
from validation.calibrate import (
    CALIBRATION_REGIMES,
    CALIBRATION_SEEDS,
    calibration_sample,
    fit_calibration,
    fit_map,
    table_literal,
)
from validation.validate import (
    CALIBRATION_MAX_GAP,
    RELIABILITY_MIN_BIN_CALLS,
    calibration_holds,
    field_bar,
)


def _sample(groups: list[tuple[float, int, int]]) -> tuple[list[float], list[bool]]:
    """(raw score, calls, right) groups → one entry per call."""
    raw: list[float] = []
    right: list[bool] = []
    for score, n, r in groups:
        raw += [score] * n
        right += [True] * r + [False] * (n - r)
    return raw, right


def test_fit_is_scipys_isotonic_regression_with_half_a_call_of_each_outcome_added() -> None:
    # shares 0.75, 0.25, 0.8, 1.0: the first two violate the order and pool to 4/8
    groups = [(0.1, 4, 3), (0.3, 4, 1), (0.6, 5, 4), (0.9, 3, 3)]
    raw, right = _sample(groups)
    knots = fit_map(raw, right)
    ref = isotonic_regression(
        [r / n for _, n, r in groups], weights=[n for _, n, _ in groups], increasing=True
    )
    np.testing.assert_array_equal(ref.blocks, [0, 2, 3, 4])
    np.testing.assert_allclose(ref.x, [0.5, 0.5, 0.8, 1.0])
    # blocks start at 0.1, 0.6, 0.9 and are worth (right + ½)/(calls + 1)
    assert knots == ((0.1, round(4.5 / 9, 6)), (0.6, round(4.5 / 6, 6)), (0.9, round(3.5 / 4, 6)))


def test_shrinkage_never_puts_a_small_block_above_a_larger_later_one() -> None:
    # 0/1 then 1/100: increasing shares (0, 0.01), but (0 + ½)/2 = 0.25 > 1.5/101 — pooled
    raw, right = _sample([(0.2, 1, 0), (0.4, 100, 1), (0.8, 50, 50)])
    knots = fit_map(raw, right)
    assert knots == ((0.2, round(1.5 / 102, 6)), (0.8, round(50.5 / 51, 6)))


def test_a_step_function_of_the_raw_score(monkeypatch: pytest.MonkeyPatch) -> None:
    knots: Knots = ((0.5, 0.6), (0.8, 0.9))
    monkeypatch.setattr(calibration, "CALIBRATION", {"pity": knots})
    assert calibrated_confidence("pity", 0.1) == 0.6  # below the first block: its value
    assert calibrated_confidence("pity", 0.5) == 0.6
    assert calibrated_confidence("pity", 0.79) == 0.6
    assert calibrated_confidence("pity", 0.8) == 0.9
    assert calibrated_confidence("pity", 1.0) == 0.9
    assert calibrated_confidence(ABSTENTION, 0.9) == 0.0
    assert calibrated_confidence("variable_ratio", 0.9) == 0.0  # a kind the table lacks


def test_the_stored_map_is_monotone_and_strictly_between_0_and_1() -> None:
    called = [k for k in KINDS if k != ABSTENTION]
    assert sorted(CALIBRATION) == sorted(called)
    grid = np.linspace(0.0, 1.0, 2001)
    for kind, knots in CALIBRATION.items():
        scores = [x for x, _ in knots]
        values = [v for _, v in knots]
        assert scores == sorted(set(scores)), kind
        assert values == sorted(values), kind
        assert all(0.0 < v < 1.0 for v in values), kind
        mapped = [calibrated_confidence(kind, float(x)) for x in grid]
        assert all(a <= b for a, b in itertools.pairwise(mapped)), kind
        assert all(0.0 < v < 1.0 for v in mapped), kind
    assert calibrated_confidence(ABSTENTION, 0.0) == 0.0


def test_the_slot_machine_map_covers_both_slot_machine_kinds_and_is_monotone() -> None:
    assert sorted(SLOT_MACHINE_CALIBRATION) == sorted(SLOT_MACHINE_KINDS)
    grid = np.linspace(0.0, 1.0, 2001)
    for kind in SLOT_MACHINE_KINDS:
        mapped = [calibrated_slot_machine_confidence(kind, float(x)) for x in grid]
        assert all(a <= b for a, b in itertools.pairwise(mapped)), kind
        assert all(0.0 < v < 1.0 for v in mapped), kind
        # either slot machine is at least as likely as the one called
        assert all(
            calibrated_slot_machine_confidence(kind, float(x)) >= calibrated_confidence(kind, x)
            for x in grid
        ), kind
    assert calibrated_slot_machine_confidence("variable_interval", 1.0) == 0.0


def test_the_version_names_the_stored_tables() -> None:
    assert table_digest(CALIBRATION, SLOT_MACHINE_CALIBRATION) == CALIBRATION_VERSION


def test_the_fitting_command_at_a_small_size_gives_a_table_of_the_same_shape() -> None:
    # one calibration seed, every regime, 28 mechanics each (the full fit is 20 seeds × 224)
    sample = calibration_sample(CALIBRATION_SEEDS[:1], 28)
    assert len(sample) == 28 * len(CALIBRATION_REGIMES)
    maps = fit_calibration(sample)
    slot_maps = fit_calibration(sample, SLOT_MACHINE_KINDS)
    assert sorted(maps) == sorted(CALIBRATION)
    assert sorted(slot_maps) == sorted(SLOT_MACHINE_CALIBRATION)
    namespace: dict[str, object] = {}
    exec(  # the printed literal is the source pasted into models/calibration.py
        "from collections.abc import Mapping\nfrom types import MappingProxyType\n"
        "from models.calibration import Knots\n" + table_literal(maps, slot_maps),
        namespace,
    )
    table = namespace["CALIBRATION"]
    assert isinstance(table, type(CALIBRATION))
    slot_table = namespace["SLOT_MACHINE_CALIBRATION"]
    assert isinstance(slot_table, type(CALIBRATION))
    assert dict(table) == {k: m.knots for k, m in maps.items()}
    assert dict(slot_table) == {k: m.knots for k, m in slot_maps.items()}
    assert namespace["CALIBRATION_VERSION"] == table_digest(table, slot_table)
    for m in [*maps.values(), *slot_maps.values()]:
        values = [v for _, v in m.knots]
        assert values == sorted(values)
        assert all(0.0 < v < 1.0 for v in values)


def test_wilson_interval_known_values() -> None:
    # 0 of 10: upper bound z²/(n + z²) = 3.8415/13.8415
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(0.27753, abs=1e-5)
    low, high = wilson_interval(5, 10)
    assert (low, high) == (pytest.approx(0.23659, abs=1e-5), pytest.approx(0.76341, abs=1e-5))
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


def test_wilson_interval_exact_at_the_ends() -> None:
    # the formula leaves residues such as 1e-17 for 0 of 7 and 0.9999999999999999 for n of n:
    # the share itself must lie inside its own interval, exactly
    for n in range(1, 201):
        assert wilson_interval(0, n)[0] == 0.0
        assert wilson_interval(n, n)[1] == 1.0
        for k in range(n + 1):
            low, high = wilson_interval(k, n)
            assert 0.0 <= low <= k / n <= high <= 1.0


def test_reliability_table_by_hand() -> None:
    calls = (
        [CheckedCall("pity", t, 0.9, 0.6) for t in ("pity", "pity", "variable_ratio", "extinction")]
        + [CheckedCall("fixed_ratio", "fixed_ratio", 1.0, 0.995)] * 3
        + [CheckedCall(ABSTENTION, "pity", 0.0, 0.0)] * 2
    )
    table = reliability(calls)
    assert table.calls == 7
    assert table.abstentions == 2
    by_lower = {b.lower: b for b in table.bins}
    assert by_lower[0.5].calls == 4
    assert by_lower[0.5].share_right == 0.5
    assert by_lower[0.5].mean_confidence == pytest.approx(0.6)
    assert by_lower[0.99].calls == 3
    assert by_lower[0.99].share_right == 1.0
    assert sum(b.calls for b in table.bins) == 7
    # ECE = 4/7·|0.6 − 0.5| + 3/7·|0.995 − 1|
    assert table.expected_calibration_error == pytest.approx((4 * 0.1 + 3 * 0.005) / 7)
    assert table.mean_confidence == pytest.approx((4 * 0.6 + 3 * 0.995) / 7)
    assert table.share_right == pytest.approx(5 / 7)


def test_identify_reports_the_calibrated_confidence_and_keeps_the_raw_score() -> None:
    units = Segments.from_lengths(np.full(20, 40))
    gain = ((units.position + 1) % 4 == 0).astype(float)
    n = units.rows
    stats = schedule_stats(
        units,
        np.arange(n, dtype=float) * 10.0,
        gain,
        np.zeros(n),
        np.zeros(n),
        np.zeros(n, dtype=np.int32),
    )
    s = identify(stats)
    assert s.kind == "fixed_ratio"
    raw = s.evidence["raw_confidence"]
    assert raw == 1.0  # a perfect step
    assert s.confidence == calibrated_confidence("fixed_ratio", raw)
    assert 0.9 < s.confidence < 1.0
    assert s.slot_machine_confidence == 0.0


@pytest.fixture(scope="module")
def held_out() -> list[CheckedCall]:
    """Schedule calls on products of the second generator (never used to fit the map), at
    seeds other than the validation seed 0."""
    calls: list[CheckedCall] = []
    for seed in (1, 2, 3):
        calls += field_bar(seed, 24, 0).calls
    return calls


def test_calibration_in_the_large_on_held_out_products(held_out: list[CheckedCall]) -> None:
    table = reliability(held_out)
    assert table.calls >= 150
    assert abs(table.in_the_large) <= CALIBRATION_MAX_GAP, table.render()


def test_every_well_filled_bin_covers_its_mean_confidence(held_out: list[CheckedCall]) -> None:
    table = reliability(held_out)
    for b in table.bins:
        if b.calls >= RELIABILITY_MIN_BIN_CALLS:
            assert b.covers, table.render()
    assert calibration_holds(table)
