"""Caps on amounts (`models.amounts`), against hand-worked answers."""

from __future__ import annotations

import math

import numpy as np

from models.amounts import AmountBounds, amount_bounds, bounded_amounts
from models.columns import RESPONSE, REWARD, EventColumns


def _log(rows: list[tuple[str, str, int, float, float]]) -> EventColumns:
    """(user, mechanic, kind, cost, value) per event, one second apart."""
    return EventColumns.from_arrays(
        user_id=[r[0] for r in rows],
        mechanic=[r[1] for r in rows],
        kind=[r[2] for r in rows],
        t=np.arange(len(rows), dtype=np.float64),
        cost=[r[3] for r in rows],
        value=[r[4] for r in rows],
    )


def _pay(
    user: str, *costs: float, mechanic: str = "slots"
) -> list[tuple[str, str, int, float, float]]:
    return [(user, mechanic, RESPONSE, c, 0.0) for c in costs]


def _win(
    user: str, *values: float, mechanic: str = "slots"
) -> list[tuple[str, str, int, float, float]]:
    return [(user, mechanic, REWARD, 0.0, v) for v in values]


def test_the_cost_cap_is_the_third_largest_second_largest_cost() -> None:
    # second-largest costs: a 5 (5 paid twice), b 2, c 4, d none (one payment), e 1; each cost
    # counts up to the larger of the cap (2) and its user's own second-largest
    log = _log(
        _pay("a", 1, 5, 5) + _pay("b", 2, 3) + _pay("c", 4, 10) + _pay("d", 1e300) + _pay("e", 1, 1)
    )
    assert amount_bounds(log).of("slots")[0] == 2.0
    cost, _ = bounded_amounts(log, amount_bounds(log))
    np.testing.assert_array_equal(cost, [1, 5, 5, 2, 2, 4, 4, 2, 1, 1])


def test_a_forged_payment_does_not_move_the_cost_cap() -> None:
    genuine = _pay("a", 3, 3) + _pay("b", 2, 2) + _pay("c", 1, 1) + _pay("d", 1, 1)
    cap = amount_bounds(_log(genuine)).of("slots")[0]
    assert cap == 1.0
    for forged in (_pay("new", 1e9), _pay("a", 1e308), _pay("d", math.inf)):
        assert amount_bounds(_log(genuine + forged)).of("slots")[0] == cap


def test_value_caps_are_the_third_largest_largest_value_of_users_who_responded() -> None:
    log = _log(
        _pay("a", 0, 0) + _win("a", 2, 50, -1)
        + _pay("b", 0) + _win("b", 7, -4)
        + _pay("c", 0) + _win("c", 3, -2)
        + _win("orphan", 1e9, -1e9)  # no response: attached to nothing, never sets a cap
    )  # fmt: skip
    cost_cap, gain_cap, loss_cap = amount_bounds(log).of("slots")
    assert (cost_cap, gain_cap, loss_cap) == (0.0, 3.0, 1.0)
    _, value = bounded_amounts(log, amount_bounds(log))
    np.testing.assert_array_equal(value[log.kind == REWARD], [2, 3, -1, 3, -1, 3, -1, 3, -1])


def test_one_payment_does_not_make_a_free_mechanic_paid_and_non_finite_amounts_are_bounded() -> (
    None
):
    log = _log(
        _pay("a", 0, 0, mechanic="quests") + _pay("b", 0, 5, 0, mechanic="quests")
        + _pay("c", math.nan, math.inf, 0, mechanic="quests")
    )  # fmt: skip
    bounds = amount_bounds(log)
    assert bounds.of("quests") == (0.0, 0.0, 0.0)
    assert bounds.of("absent") == (0.0, 0.0, 0.0)
    cost, value = bounded_amounts(log, bounds)
    assert not cost.any()
    assert not value.any()
    paid = AmountBounds(caps=(("quests", 4.0, 0.0, 0.0),))
    cost, _ = bounded_amounts(log, paid)
    np.testing.assert_array_equal(cost, [0, 0, 0, 4, 0, 0, 4, 0])
    assert paid.as_dict("quests") == {"cost_cap": 4.0, "gain_cap": 0.0, "loss_cap": 0.0}
