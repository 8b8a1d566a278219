"""Hyperbolic discount rates from wait-or-pay choices."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from models.discounting import FITTED, NO_VARIATION, fit_discounting
from models.segments import Segments
from models.synthetic import (
    MechanicSpec,
    PopulationSpec,
    ProductSpec,
    ScheduleSpec,
    simulate_product,
)
from models.trials import build_trials
from validation.validate import DISCOUNT_CASE


def test_hand_worked_indifference_point() -> None:
    assert DISCOUNT_CASE.compute() == pytest.approx(DISCOUNT_CASE.expected, rel=1e-9)


def test_users_who_never_pay_are_not_fitted() -> None:
    seg = Segments.from_lengths(np.array([20]))
    fit = fit_discounting(
        np.logspace(1, 4, 20),
        np.zeros(20, dtype=bool),
        np.zeros(20),
        np.ones(20),
        seg,
        min_choices=10,
    )
    assert fit.status[0] == NO_VARIATION
    assert np.isnan(fit.k[0])


def test_discount_rates_are_recovered_from_simulated_users() -> None:
    population = PopulationSpec(n_users=60, responses=(80.0, 80.0), discount_k=(1e-5, 1e-2))
    schedule = ScheduleSpec(kind="continuous", wait_or_pay=True, values=(10.0,), price_share=0.3)
    product = simulate_product(
        ProductSpec(
            mechanics=(MechanicSpec(name="timer", schedule=schedule, population=population),)
        ),
        0,
    )
    cols = product.events
    tr = build_trials(cols, session_gap_s=1800.0, observed_until=float(cols.t.max()))
    pay = tr.option == product.events.options.index("pay")
    fit = fit_discounting(tr.delay_s, pay, tr.cost, tr.gain, tr.units, min_choices=10)
    ok = fit.status == FITTED
    assert ok.mean() > 0.7
    rho = spearmanr(np.log(fit.k[ok]), np.log(product.tracks.discount_k[ok]))[0]
    assert rho > 0.8
    np.testing.assert_allclose(fit.price_share[ok], 0.3)
