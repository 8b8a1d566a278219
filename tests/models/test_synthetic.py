"""The simulators do what their specs say (the ground truth other tests rely on)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from models.columns import RESPONSE
from models.synthetic import (
    KINDS,
    MechanicSpec,
    PopulationSpec,
    ProductSpec,
    ScheduleSpec,
    bulk_events,
    demo_native_events,
    schedule_benchmark,
    simulate_demo,
    simulate_product,
)
from models.trials import build_trials


def _one(schedule: ScheduleSpec, **population: object) -> ProductSpec:
    pop = PopulationSpec(n_users=30, responses=(100.0, 100.0), **population)  # type: ignore[arg-type]
    return ProductSpec(mechanics=(MechanicSpec(name="m", schedule=schedule, population=pop),))


def _trials(spec: ProductSpec, seed: int = 0):  # type: ignore[no-untyped-def]
    cols = simulate_product(spec, seed).events
    return build_trials(cols, session_gap_s=1800.0, observed_until=float(cols.t.max()))


def test_same_seed_same_log_other_seed_other_log() -> None:
    spec = _one(ScheduleSpec(kind="variable_ratio", ratio=4.0))
    a, b, c = (simulate_product(spec, s).events for s in (1, 1, 2))
    np.testing.assert_array_equal(a.t, b.t)
    np.testing.assert_array_equal(a.value, b.value)
    assert a.t.shape != c.t.shape or not np.array_equal(a.t, c.t)


def test_fixed_ratio_pays_exactly_every_nth_response() -> None:
    tr = _trials(_one(ScheduleSpec(kind="fixed_ratio", ratio=4.0)))
    paid = tr.gain > 0
    np.testing.assert_array_equal(paid, (tr.units.position + 1) % 4 == 0)


def test_fixed_interval_pays_first_response_after_the_interval() -> None:
    tr = _trials(_one(ScheduleSpec(kind="fixed_interval", interval_s=600.0), tempo_s=60.0))
    paid = np.flatnonzero(tr.gain > 0)
    same_unit = tr.units.index[paid[1:]] == tr.units.index[paid[:-1]]
    gaps = (tr.t[paid[1:]] - tr.t[paid[:-1]])[same_unit]
    assert gaps.min() >= 600.0


def test_pity_never_exceeds_its_cap() -> None:
    spec = _one(ScheduleSpec(kind="pity", pity_base=0.01, pity_cap=12))
    tr = _trials(spec)
    from models.markers import count_since

    k = count_since(tr.gain > 0, tr.units)
    assert k.max() <= 12
    assert (tr.gain[k == 12] > 0).all()


def test_variable_ratio_rate_matches_its_ratio() -> None:
    tr = _trials(_one(ScheduleSpec(kind="variable_ratio", ratio=5.0)))
    assert abs((tr.gain > 0).mean() - 0.2) < 0.02


def test_users_respond_about_their_target_count() -> None:
    product = simulate_product(_one(ScheduleSpec(kind="continuous")), 0)
    assert (product.tracks.responses >= 100).all()


def test_native_events_round_trip_times_and_fields() -> None:
    product = simulate_demo(seed=3, n_users=10)
    events = product.native_events()
    assert len(events) == len(product)
    assert {e["kind"] for e in events} == {"response", "reward"}
    for i in (0, len(events) // 2, len(events) - 1):
        parsed = dt.datetime.strptime(events[i]["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
        assert parsed.replace(tzinfo=dt.UTC).timestamp() == pytest.approx(
            product.events.t[i], abs=1e-6
        )
    responses = [e for e in events if e["kind"] == "response"]
    assert all("value" not in e and "cost" in e for e in responses)
    assert len({e["message_id"] for e in events}) == len(events)
    assert demo_native_events(seed=3, n_users=10) == product.native_events(id_prefix="demo3")


def test_streak_loss_is_a_negative_reward() -> None:
    product = simulate_demo(seed=0, n_users=30)
    daily = product.events.mechanics.index("daily_reward")
    rewards = (product.events.kind != RESPONSE) & (product.events.mechanic == daily)
    assert (product.events.value[rewards] < 0).any()


def test_benchmark_covers_every_kind_equally() -> None:
    spec = schedule_benchmark(28, seed=0)
    kinds = [m.schedule.kind for m in spec.mechanics]
    assert sorted(set(kinds)) == sorted(KINDS)
    assert all(kinds.count(k) == 4 for k in KINDS)


def test_bulk_events_have_the_requested_size() -> None:
    cols = bulk_events(200, 20_000, seed=0)
    assert 18_000 <= len(cols) <= 22_000
    assert len(set(cols.user.tolist())) > 150
