"""Schedule identification: the benchmark bar, censoring-aware life tables, exact merging."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models.analysis import AnalysisConfig, analyse
from models.columns import OFFSET_UNKNOWN, RESPONSE, REWARD, EventColumns
from models.rules import DEFAULT_TABLE
from models.schedule import (
    SLOT_MACHINE_KINDS,
    ScheduleStats,
    identify,
    merge_stats,
    rung_index,
    rung_value,
    schedule_stats,
)
from models.schedule.evidence import _isotonic, _step
from models.segments import Segments
from models.synthetic import (
    MechanicSpec,
    PopulationSpec,
    ProductSpec,
    ScheduleSpec,
    schedule_benchmark,
    simulate_product,
)
from models.trials import build_trials
from validation.validate import SCHEDULE_MIN_ACCURACY, schedule_bar


@pytest.mark.parametrize("seed", [0, 1])
def test_benchmark_bar_at_test_size(seed: int) -> None:
    bar = schedule_bar(56, seed=seed)
    assert bar.accuracy >= SCHEDULE_MIN_ACCURACY, bar.errors
    assert bar.false_slot_machine == 0


def test_no_false_slot_machine_with_few_users_and_short_histories() -> None:
    # starved data may be called insufficient, never a slot machine it is not
    bar = schedule_bar(56, seed=2, users=(20, 40), responses=(2.0, 40.0))
    assert bar.false_slot_machine == 0


def test_no_false_slot_machine_when_the_audit_window_cuts_first_runs() -> None:
    bar = schedule_bar(56, seed=3, window_days=3.0)
    assert bar.false_slot_machine == 0
    assert bar.accuracy >= 0.9


def _stats(units: Segments, gain: np.ndarray, t: np.ndarray | None = None) -> ScheduleStats:
    t = np.arange(units.rows, dtype=float) * 10.0 if t is None else t
    n = units.rows
    return schedule_stats(units, t, gain, np.zeros(n), np.zeros(n), np.zeros(n, dtype=np.int32))


def test_fixed_ratio_life_table_is_exact() -> None:
    units = Segments.from_lengths(np.full(20, 38))
    gain = ((units.position + 1) % 4 == 0).astype(float)
    s = identify(_stats(units, gain))
    assert s.kind == "fixed_ratio"
    assert s.mean_ratio == pytest.approx(4.0)
    assert s.ratio_cv == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(s.hazard[:4], [0.0, 0.0, 0.0, 1.0])


def test_censored_runs_do_not_bias_the_mean_ratio() -> None:
    # most users stop before their next win: the mean length of completed runs is biased low,
    # the life table is not (Kaplan & Meier 1958)
    rng = np.random.default_rng(0)
    lengths = rng.geometric(0.05, 3000)  # users leave after ~20 responses
    units = Segments.from_lengths(lengths.astype(np.int64))
    win = rng.random(units.rows) < 0.1  # one response in 10 pays
    s = identify(_stats(units, win.astype(float)))
    runs = np.diff(np.flatnonzero(win))  # gaps between wins within the whole array
    naive = runs[units.index[np.flatnonzero(win)[1:]] == units.index[np.flatnonzero(win)[:-1]]]
    assert naive.mean() < 8.5  # completed runs alone: biased towards short runs
    assert s.mean_ratio == pytest.approx(10.0, rel=0.06)
    assert s.ratio_cv == pytest.approx(np.sqrt(0.9), rel=0.1)  # geometric: √(1 − p)


def test_interval_life_table_recovers_a_fixed_interval() -> None:
    units = Segments.from_lengths(np.full(30, 60))
    t = units.position * 600.0 + units.index * 7.0  # a response every 10 minutes
    gain = (units.position % 6 == 0).astype(float)  # paid every hour
    s = identify(_stats(units, gain, t.astype(float)))
    assert s.mean_interval_s == pytest.approx(3600.0, rel=0.06)  # bins are 12 % wide


def test_partition_statistics_add_up_exactly() -> None:
    spec = ProductSpec(
        mechanics=(
            MechanicSpec(
                name="m",
                schedule=ScheduleSpec(
                    kind="variable_ratio",
                    ratio=4,
                    values=(1.0, 10.0, 100.0),
                    probabilities=(0.8, 0.15, 0.05),
                ),
                population=PopulationSpec(n_users=40),
            ),
        )
    )
    cols = simulate_product(spec, 0).events
    tr = build_trials(cols, session_gap_s=1800.0, observed_until=float(cols.t.max()))

    def stats_of(keep: np.ndarray) -> ScheduleStats:
        rows = tr.units.rows_of(keep)
        return schedule_stats(
            tr.units.take(keep),
            tr.t[rows],
            tr.gain[rows],
            tr.loss[rows],
            tr.cost[rows],
            tr.utc_offset_s[rows],
        )

    every = np.ones(tr.units.count, dtype=bool)
    half = np.arange(tr.units.count) < tr.units.count // 2
    whole, merged = stats_of(every), merge_stats([stats_of(half), stats_of(~half)])
    for a, b in ((whole.any_tables, merged.any_tables), (whole.cost_tables, merged.cost_tables)):
        for name in ("count_n", "count_w", "elapsed_n", "irt_w", "day_w", "gap_event"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert sorted(whole.rung_tables) == sorted(merged.rung_tables)
    for j in whole.rung_tables:
        np.testing.assert_array_equal(whole.rung_tables[j].count_w, merged.rung_tables[j].count_w)
    # float statistics are exact sums too: equal to the last bit, whatever the split
    assert (whole.gain_sum, whole.gain_sq_sum) == (merged.gain_sum, merged.gain_sq_sum)
    assert whole.ladder_value == merged.ladder_value
    np.testing.assert_array_equal(whole.any_tables.irt_x, merged.any_tables.irt_x)
    np.testing.assert_array_equal(whole.any_tables.tenure_x, merged.any_tables.tenure_x)
    assert identify(whole).kind == identify(merged).kind


def test_ladder_rungs_are_exact_at_powers_of_ten() -> None:
    np.testing.assert_array_equal(
        rung_index(np.array([1.0, 10.0, 100.0, 1000.0, 9.99])), [0, 4, 8, 12, 3]
    )
    assert rung_value(4) == 10.0


def test_isotonic_hazard_pools_violators() -> None:
    rates, _ = _isotonic(np.array([1, 0, 2]), np.array([2, 2, 2]))
    np.testing.assert_allclose(rates, [0.25, 0.25, 1.0])


def test_step_finds_a_fixed_ratio() -> None:
    w = np.array([0, 0, 12, 0])
    n = np.array([40, 30, 12, 0])
    st = _step(w, n, straddle=False)
    assert st is not None
    assert (st.cut, st.early_share, st.lower_rate, st.upper_rate) == (2, 0.0, 0.0, 1.0)


def _identify_one(
    schedule: ScheduleSpec, seed: int = 0, *, send_zones: bool = True, **population: object
):  # type: ignore[no-untyped-def]
    pop = PopulationSpec(n_users=80, responses=(30.0, 200.0), **population)  # type: ignore[arg-type]
    cols = simulate_product(
        ProductSpec(mechanics=(MechanicSpec(name="m", schedule=schedule, population=pop),)), seed
    ).events
    if not send_zones:
        cols = dataclasses.replace(
            cols, utc_offset_s=np.full_like(cols.utc_offset_s, OFFSET_UNKNOWN)
        )
    tr = build_trials(cols, session_gap_s=1800.0, observed_until=float(cols.t.max()))
    return identify(schedule_stats(tr.units, tr.t, tr.gain, tr.loss, tr.cost, tr.day_offset_s))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_daily_reset_at_local_midnight_is_a_fixed_interval_without_zones(seed: int) -> None:
    # users in three zones, timestamps sent in UTC with no offset: the reset is at a different
    # UTC hour for each zone; each user's claims (one a day, on the day's first response) show
    # where their day ends, also for users active in every hour of the day
    s = _identify_one(
        ScheduleSpec(kind="fixed_interval", interval_s=86400.0, calendar=True, values=(10.0,)),
        seed,
        send_zones=False,
        utc_offsets_h=(-5.0, 1.0, 8.0),
        gap_s=4 * 3600.0,
    )
    assert s.kind == "fixed_interval"


@pytest.mark.parametrize("seed", [0, 6])
def test_a_daily_reset_is_told_beside_mechanics_that_pay_many_times_a_day(seed: int) -> None:
    # the same users, in three zones and active in every hour, claim a daily reward, an hourly
    # bonus and a slot's wins, with no zones sent: only the daily reward's claims place their
    # day boundary (the others pay several times in any day, wherever it is cut)
    pop = PopulationSpec(
        n_users=80, responses=(30.0, 200.0), utc_offsets_h=(-5.0, 1.0, 8.0), gap_s=4 * 3600.0
    )
    daily = ScheduleSpec(kind="fixed_interval", interval_s=86400.0, calendar=True, values=(10.0,))
    hourly = ScheduleSpec(kind="fixed_interval", interval_s=3600.0, values=(10.0,))
    slots = ScheduleSpec(kind="variable_ratio", ratio=4, values=(10.0,))
    spec = ProductSpec(
        mechanics=tuple(
            MechanicSpec(name=name, schedule=schedule, population=pop)
            for name, schedule in (("daily", daily), ("hourly", hourly), ("slots", slots))
        )
    )
    cols = simulate_product(spec, seed).events
    cols = dataclasses.replace(cols, utc_offset_s=np.full_like(cols.utc_offset_s, OFFSET_UNKNOWN))
    report = analyse(cols, config=AnalysisConfig(), table=DEFAULT_TABLE).as_dict()
    kinds = {m["mechanic"]: m["schedule"]["kind"] for m in report["mechanics"]}
    assert kinds == {
        "daily": "fixed_interval",
        "hourly": "fixed_interval",
        "slots": "variable_ratio",
    }


def test_a_loot_box_that_always_pays_something_is_still_a_variable_ratio() -> None:
    s = _identify_one(
        ScheduleSpec(kind="variable_ratio", ratio=10, consolation=1.0, values=(60.0,))
    )
    assert s.kind == "variable_ratio"
    assert s.evidence["magnitude_lottery"] is True
    assert s.reward_probability == pytest.approx(0.1, abs=0.02)


def test_a_fixed_reward_with_a_random_bonus_is_the_healthy_mix() -> None:
    s = _identify_one(
        ScheduleSpec(kind="continuous", values=(10.0,), bonus_value=40.0, bonus_probability=0.08)
    )
    assert s.kind == "continuous"
    assert s.bonus is not None
    assert s.bonus["kind"] == "variable_ratio"
    assert s.bonus["rate"] == pytest.approx(0.08, abs=0.02)


def test_front_loaded_payouts_are_not_a_lottery() -> None:
    s = _identify_one(ScheduleSpec(kind="continuous", values=(100.0,), decay=1 / 40))
    assert s.kind == "continuous"


def test_paid_spins_are_judged_by_wins_at_least_the_stake() -> None:
    s = _identify_one(ScheduleSpec(kind="variable_ratio", ratio=8, cost=1.0, values=(5.0,)))
    assert s.kind == "variable_ratio"
    assert s.outcome == "reward ≥ cost"
    assert s.reward_probability == pytest.approx(1 / 8, abs=0.02)


def test_paid_spins_with_consolations_are_judged_by_their_winning_tier() -> None:
    # every spin returns something (0.3 of the stake when it loses): a magnitude lottery
    s = _identify_one(
        ScheduleSpec(kind="variable_ratio", ratio=8, cost=1.0, consolation=0.3, values=(5.0,))
    )
    assert s.kind == "variable_ratio"
    assert s.evidence["magnitude_lottery"] is True
    assert s.reward_probability == pytest.approx(1 / 8, abs=0.02)


@pytest.mark.parametrize("cost", [1.0, 0.0])
@pytest.mark.parametrize("seed", range(10))
def test_a_loot_box_whose_common_item_is_worth_its_price_is_a_lottery(
    cost: float, seed: int
) -> None:
    # every open yields the common item, valued at the price; 1 % of opens a tier worth 100×.
    # Paid or given away free, it is a slot machine in every seed: the rare tier carries half
    # the value, and the call does not sit on a threshold that half could fall either side of
    s = _identify_one(
        ScheduleSpec(kind="variable_ratio", ratio=100, consolation=1.0, values=(100.0,), cost=cost),
        seed,
    )
    assert s.kind == "variable_ratio"
    assert s.evidence["magnitude_lottery"] is True


@pytest.mark.parametrize("gap_s", [1800.0, 7200.0])
def test_a_fixed_ratio_restarting_each_session_is_never_pity(gap_s: float) -> None:
    # "five in a row": the count restarts when the session ends. With our session gap equal to
    # the product's, a clean step in the in-session count; with a longer gap the resets are
    # blurred, but a fixed ratio never pays below its ratio, and that floor rules pity out
    schedule = ScheduleSpec(kind="fixed_ratio", ratio=5.0, session_reset=True)
    pop = PopulationSpec(n_users=80, responses=(20.0, 300.0), b0=(0.5, 3.0))
    cols = simulate_product(
        ProductSpec(mechanics=(MechanicSpec(name="m", schedule=schedule, population=pop),)), 0
    ).events
    tr = build_trials(cols, session_gap_s=gap_s, observed_until=float(cols.t.max()))
    s = identify(
        schedule_stats(
            tr.units,
            tr.t,
            tr.gain,
            tr.loss,
            tr.cost,
            tr.utc_offset_s,
            session_start=tr.sessions.first,
        )
    )
    assert s.kind not in ("pity", "variable_ratio")
    if gap_s == 1800.0:
        assert s.kind == "fixed_ratio"
        assert s.evidence["step_axis"] == "count_in_session"


def _chest(scale: float, common: float, rare: float, p_rare: float) -> EventColumns:
    """A free chest opened 80 times by each of 120 users, paying `common` or, with probability
    p_rare, `rare`, all multiplied by `scale` (a change of currency unit)."""
    rng = np.random.default_rng(0)
    uid, t, kind, value = [], [], [], []
    for u in range(120):
        tt = 1.7e9 + rng.random() * 86400 * 5
        for _ in range(80):
            tt += rng.exponential(20.0) if rng.random() > 0.1 else rng.exponential(3 * 3600)
            payout = rare if rng.random() < p_rare else common
            uid += [f"u{u}", f"u{u}"]
            t += [tt, tt]
            kind += [RESPONSE, REWARD]
            value += [0.0, payout * scale]
    return EventColumns.from_arrays(
        user_id=uid, mechanic=["chest"] * len(t), kind=kind, t=t, value=value
    )


@pytest.mark.parametrize(
    ("common", "rare", "p_rare", "lottery"),
    [
        (1.0, 5.65, 0.06, False),  # a bonus carrying a quarter of the value: the healthy mix
        (1.0, 3.1, 0.3, True),  # a tier at 3.1× carrying 57 % of the value: a lottery
    ],
)
def test_a_lottery_is_decided_on_payout_ratios_whatever_the_currency_unit(
    common: float, rare: float, p_rare: float, lottery: bool
) -> None:
    calls = set()
    for scale in (1.0, 1.77, 0.013):
        analysis = analyse(
            _chest(scale, common, rare, p_rare), config=AnalysisConfig(), table=DEFAULT_TABLE
        )
        schedule = analysis.mechanics[0].schedule
        assert schedule.evidence["magnitude_lottery"] is lottery
        assert schedule.evidence["median_payout"] == pytest.approx(common * scale, rel=1e-9)
        calls.add(schedule.kind)
    assert len(calls) == 1


def test_a_session_restarting_fixed_ratio_cut_by_an_audit_window_is_no_slot_machine() -> None:
    # a fixed ratio of 31 that restarts with each session, with a 3-day audit window cutting
    # one session in two: one reward comes "early", the clean step is lost, and the hazard since
    # the last reward looks flat. Its hazard still rises along the session's own count, so it
    # must not be called a variable ratio (it was, in the calibration sample at seed 205)
    product = simulate_product(schedule_benchmark(224, seed=205), 205)
    columns = product.events
    columns = columns.take(columns.t >= columns.t.min() + 3 * 86400.0)
    mechanic = columns.mechanics.index("m0141-fixed_ratio-session_reset")
    analysis = analyse(
        columns.take(columns.mechanic == mechanic), config=AnalysisConfig(), table=DEFAULT_TABLE
    )
    schedule = analysis.mechanics[0].schedule
    assert schedule.kind not in SLOT_MACHINE_KINDS
    assert schedule.evidence["lr_count_in_session"] >= 30.0
    assert "variable-ratio-reward" not in {f.rule_id for f in analysis.findings}
