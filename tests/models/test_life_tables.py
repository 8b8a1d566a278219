"""The schedule's life tables, counted in one compiled pass, against the numpy form they
replaced, field by field and exactly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import restricted_mean_survival_time
from numpy.typing import NDArray

import models.schedule as sc
from models.schedule import OutcomeTables
from models.schedule.evidence import _interval_distribution, _ratio_distribution
from models.schedule.life_tables import _RATE_GRID, _MechanicRows, _outcome_tables
from models.schedule.states import _finite_time_bin
from models.segments import Segments


def _pairs(key: NDArray[np.int32], size: int) -> NDArray[np.int64]:
    return np.bincount(key, minlength=2 * size).reshape(size, 2).astype(np.int64)


def _reference_tables(win: NDArray[np.bool_], rows: _MechanicRows) -> OutcomeTables:
    # An independent vectorised numpy form of the life tables, kept as the known answer: every
    # table the compiled pass builds must match it exactly.
    units = rows.units
    n = units.rows
    row = np.arange(n, dtype=np.int32)
    unit_first = units.start[units.index].astype(np.int32)
    last_rows = units.start + units.length - 1

    w32 = win.view(np.int8).astype(np.int32)
    # the last win strictly before each row, within its unit (−1 if none)
    wins = np.flatnonzero(win).astype(np.int32)
    won = np.cumsum(w32, dtype=np.int32)
    before = won - w32
    if wins.size:
        prev = wins[np.maximum(before - 1, 0)]
        prev = np.where((before > 0) & (prev >= unit_first), prev, np.int32(-1))
    else:
        prev = np.full(n, -1, dtype=np.int32)
    after = prev >= 0
    # runs of responses since the last valuable outcome start after a win or at a unit's start
    run_first = np.maximum(prev + np.int32(1), unit_first)
    k_bin = np.minimum(row - run_first, sc.K_MAX)
    k_session = np.minimum(row - np.maximum(run_first, rows.session_first), sc.K_MAX)
    k_daily = np.minimum(row - np.maximum(run_first, rows.day_first), sc.K_MAX)
    # time and calendar days since the last valuable outcome
    n_after = int(np.count_nonzero(after))
    if n_after > n // 2:  # dense: whole arrays beat gathering the rows
        since = np.where(after, prev, row)
        e_bin = np.where(after, _finite_time_bin(rows.t - rows.t[since]), sc.TIME_UNDEFINED)
        # both calendars in one gather: the (n, 2) int32 days viewed as int64
        gap = rows.days - rows.days.view(np.int64)[since].view(np.int32).reshape(n, 2)
    else:
        at = np.flatnonzero(after)
        e_bin = np.full(n, sc.TIME_UNDEFINED, dtype=np.int32)
        e_bin[at] = _finite_time_bin(rows.t[at] - rows.t[prev[at]])
        gap = np.zeros((n, 2), dtype=np.int32)
        gap[at] = rows.days[at] - rows.days.view(np.int64)[prev[at]].view(np.int32).reshape(-1, 2)
    np.clip(gap, 0, 2, out=gap)
    day = np.where(after, gap[:, 0] * sc.N_DAY + gap[:, 1], sc.N_DAY * sc.N_DAY - 1)
    count = np.bincount(k_bin * 4 + after * 2 + w32, minlength=4 * sc.N_COUNT).reshape(
        sc.N_COUNT, 4
    )
    count = count.astype(np.int64)
    session = _pairs(k_session * 2 + w32, sc.N_COUNT)
    daily = _pairs(k_daily * 2 + w32, sc.N_COUNT)
    n_clock = sc.N_TIME_ALL * sc.N_DAY * sc.N_DAY
    clock = _pairs((e_bin * (sc.N_DAY * sc.N_DAY) + day) * 2 + w32, n_clock)
    clock = clock.reshape(sc.N_TIME_ALL, sc.N_DAY, sc.N_DAY, 2)
    elapsed = clock.sum(axis=(1, 2))
    days = clock.sum(axis=0)
    tempo = _pairs(rows.tempo * 2 + w32, sc.N_TIME_ALL * sc.N_TENURE).reshape(
        sc.N_TIME_ALL, sc.N_TENURE, 2
    )
    first = units.first
    # each unit's own rate of valuable outcomes, the within-user null: integer multiples of
    # 2⁻²⁴, whose sums of up to 2²⁹ are exact in float64 in any order
    last = last_rows
    rate = np.round((won[last] - before[units.start]) / units.length * _RATE_GRID)
    expected = np.bincount(
        rows.tempo, weights=units.broadcast(rate), minlength=sc.N_TIME_ALL * sc.N_TENURE
    ).reshape(sc.N_TIME_ALL, sc.N_TENURE)
    # durations between valuable outcomes: completed at each later win (the paid elapsed-time
    # table: a paid response after a win completes one), censored at a unit's end
    last_win = np.where(win[last], last, prev[last])
    has = last_win >= 0
    open_span = rows.t[last[has]] - rows.t[last_win[has]]
    censored = _finite_time_bin(open_span[open_span > 0])
    return sc.OutcomeTables(
        count_n=count.sum(axis=1),
        count_w=count[:, 1] + count[:, 3],
        after_n=count[:, 2] + count[:, 3],
        after_w=count[:, 3].copy(),
        session_n=session.sum(axis=1),
        session_w=session[:, 1].copy(),
        daily_n=daily.sum(axis=1),
        daily_w=daily[:, 1].copy(),
        first_n=np.array([int(first.sum())], dtype=np.int64),
        first_w=np.array([int((first & win).sum())], dtype=np.int64),
        elapsed_n=elapsed.sum(axis=1),
        elapsed_w=elapsed[:, 1].copy(),
        irt_n=tempo.sum(axis=(1, 2)),
        irt_w=tempo[:, :, 1].sum(axis=1),
        irt_x=expected.sum(axis=1) / _RATE_GRID,
        day_n=days[:, :, :].sum(axis=(1, 2)),
        day_w=days[:, :, 1].sum(axis=1),
        utc_day_n=days.sum(axis=(0, 2)),
        utc_day_w=days[:, :, 1].sum(axis=0),
        tenure_n=tempo.sum(axis=(0, 2)),
        tenure_w=tempo[:, :, 1].sum(axis=0),
        tenure_x=expected.sum(axis=0) / _RATE_GRID,
        gap_event=elapsed[: sc.N_TIME, 1].copy(),
        gap_censored=np.bincount(censored, minlength=sc.N_TIME_ALL)[: sc.N_TIME].astype(np.int64),
    )


def _rows(seed: int, units: int, *, edges: bool) -> tuple[_MechanicRows, NDArray[np.float64]]:
    rng = np.random.default_rng(seed)
    length = rng.integers(1, 60, units)
    segments = Segments.from_lengths(length)
    n = segments.rows
    gaps = rng.exponential(600.0, n) * (rng.random(n) < 0.9)  # some responses share an instant
    if edges:
        # durations at the time bins' edges, 10^(k/20 − 1) s, and a hair either side
        k = rng.integers(0, 180, n)
        gaps = 10.0 ** (k / 20.0 - 1.0) * (1.0 + rng.choice([-1e-12, 0.0, 1e-12, 1e-6], n))
    t = 1.78e9 + np.cumsum(gaps)
    offset = rng.choice([0, 3600, -18_000, 19_800], n).astype(np.int32)
    session_start = segments.first | (rng.random(n) < 0.1)
    rows = _MechanicRows.of(segments, t, offset, session_start)
    gain = np.where(rng.random(n) < 0.3, rng.exponential(3.0, n), 0.0)
    return rows, gain


@pytest.mark.parametrize(("seed", "edges"), [(1, False), (2, False), (3, True), (4, True)])
def test_life_tables_are_the_numpy_tables_exactly(seed: int, edges: bool) -> None:
    rows, gain = _rows(seed, 400, edges=edges)
    for win in (gain > 0, gain >= 2.0, gain >= 50.0, np.zeros(gain.shape[0], dtype=bool),
                np.ones(gain.shape[0], dtype=bool)):  # fmt: skip
        fast, reference = _outcome_tables(win, rows), _reference_tables(win, rows)
        for field in dataclasses.fields(OutcomeTables):
            a, b = getattr(fast, field.name), getattr(reference, field.name)
            assert a.dtype == b.dtype, field.name
            np.testing.assert_array_equal(a, b, err_msg=field.name)


def test_a_single_response_unit() -> None:
    rows = _MechanicRows.of(
        Segments.from_lengths(np.array([1])), np.array([1.78e9]), np.zeros(1, np.int32),
        np.ones(1, dtype=bool),
    )  # fmt: skip
    tables = _outcome_tables(np.array([True]), rows)
    assert (tables.count_n[0], tables.count_w[0]) == (1, 1)
    assert (tables.first_n[0], tables.first_w[0]) == (1, 1)
    assert tables.gap_censored.sum() == 0  # the win is the unit's last response: nothing open


# ------------------------------------------------ against lifelines (an independent estimator)


def _count_table(
    duration: NDArray[np.int64], event: NDArray[np.bool_], size: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The count life table of runs: n[k−1] runs that reached response k, w[k−1] paid there."""
    n = np.zeros(size, dtype=np.int64)
    w = np.zeros(size, dtype=np.int64)
    for d, e in zip(duration.tolist(), event.tolist(), strict=True):
        n[:d] += 1
        w[d - 1] += int(e)
    return w, n


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ratio_distribution_is_the_kaplan_meier_mean_of_lifelines(seed: int) -> None:
    # runs of a soft-pity box (hazard rising to 1 at response 30), some cut by the end of the
    # window: the product-limit estimate from the count table must be lifelines' Kaplan-Meier
    rng = np.random.default_rng(seed)
    hazard = np.minimum(0.03 * 1.12 ** np.arange(30), 1.0)
    hazard[-1] = 1.0
    runs = 400
    duration = np.empty(runs, dtype=np.int64)
    for i in range(runs):
        k = 1
        while rng.random() >= hazard[k - 1]:
            k += 1
        duration[i] = k
    cut = rng.integers(1, 60, runs)
    event = duration <= cut
    observed = np.where(event, duration, np.minimum(cut, duration))
    w, n = _count_table(observed, event, 30)

    mean, _, complete = _ratio_distribution(w, n)
    kmf = KaplanMeierFitter().fit(observed, event_observed=event)
    assert complete
    # E[K] = Σ_{k ≥ 0} S(k) = ∫₀^∞ S(t) dt for a step function that drops at the integers
    assert mean == pytest.approx(float(restricted_mean_survival_time(kmf, t=31.0)), rel=1e-9)


def test_interval_distribution_is_the_kaplan_meier_distribution_without_censoring() -> None:
    # with nothing censored the actuarial table is the product-limit estimate over the bins
    rng = np.random.default_rng(3)
    bins = rng.integers(20, 40, 500)  # time-bin index of each interval between rewards
    event = np.bincount(bins, minlength=sc.N_TIME).astype(np.int64)
    mean, cv, complete = _interval_distribution(event, np.zeros(sc.N_TIME, dtype=np.int64))

    kmf = KaplanMeierFitter().fit(bins, event_observed=np.ones(bins.size, dtype=bool))
    s = kmf.survival_function_at_times(np.arange(sc.N_TIME)).to_numpy()
    before = np.concatenate([[1.0], s[:-1]])
    pk = before - s
    mids = sc.time_bin_mid()
    m1 = float((pk * mids).sum())
    m2 = float((pk * mids * mids).sum())
    assert complete
    assert mean == pytest.approx(m1, rel=1e-9)
    assert cv == pytest.approx(float(np.sqrt(m2 - m1 * m1)) / m1, rel=1e-6)
