"""Engagement fits: parameter recovery, an independent likelihood check, honest statuses."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from models.engagement import (
    FITTED,
    INSUFFICIENT_DATA,
    NO_REWARDS,
    NO_VARIATION,
    EngagementConfig,
    fit_engagement,
)
from models.segments import Segments
from models.synthetic import (
    MechanicSpec,
    PopulationSpec,
    ProductSpec,
    ScheduleSpec,
    simulate_product,
)
from models.trials import Trials, build_trials
from models.validate import (
    ALPHA_MIN_SPEARMAN,
    COVERAGE_RANGE,
    SIGN_MIN_SHARE,
    engagement_bar,
)

CONFIG = EngagementConfig()


def test_recovery_bars_at_test_size() -> None:
    bar = engagement_bar(120, seed=0)
    assert bar.sign_recovered >= SIGN_MIN_SHARE
    assert bar.alpha_spearman >= ALPHA_MIN_SPEARMAN
    assert COVERAGE_RANGE[0] <= bar.alpha_coverage <= COVERAGE_RANGE[1]


def _simulate(seed: int, **population: object) -> tuple[Trials, np.ndarray]:
    """Trials of 60 users with 300 responses each, and each unit's true b_δ."""
    pop = PopulationSpec(
        n_users=60,
        responses=(300.0, 300.0),
        tempo_s=5.0,
        gap_s=3600.0,
        **population,  # type: ignore[arg-type]
    )
    schedule = ScheduleSpec(kind="variable_ratio", ratio=1 / 0.3)
    product = simulate_product(
        ProductSpec(mechanics=(MechanicSpec(name="m", schedule=schedule, population=pop),)), seed
    )
    cols = product.columns()
    tr = build_trials(cols, session_gap_s=1800.0, observed_until=float(cols.t.max()))
    b_delta = np.empty(len(product.user_ids))
    b_delta[product.tracks.user] = product.tracks.b_delta
    return tr, b_delta[tr.unit_user]


def _trials(seed: int, **population: object) -> Trials:
    return _simulate(seed, **population)[0]


def _reference_objective(alpha: float, r: np.ndarray, c: np.ndarray, obs: np.ndarray) -> float:
    """max over b of the penalised log-likelihood, V by a plain loop and b by BFGS."""
    v = 0.0
    v_next = np.empty_like(r)
    delta = np.empty_like(r)
    for t in range(r.shape[0]):
        delta[t] = r[t] - v
        v += alpha * delta[t]
        v_next[t] = v

    def neg(b: np.ndarray) -> float:
        eta = b[0] + b[1] * v_next + b[2] * delta
        ll = np.sum(obs * (c * eta - np.logaddexp(0.0, eta)))
        return float(-(ll - 0.5 * CONFIG.ridge * (b[1] ** 2 + b[2] ** 2) - 0.5e-6 * b[0] ** 2))

    return -float(minimize(neg, np.zeros(3), method="BFGS", options={"gtol": 1e-9}).fun)


def test_fit_is_the_maximum_of_an_independent_likelihood() -> None:
    tr = _trials(1, b_delta=(1.0, 3.0), b_v=(-1.0, 1.0), loss_chaser_share=0.5)
    fit = fit_engagement(
        tr.reward, tr.continued, tr.censored, tr.units, min_responses=50, config=CONFIG
    )
    for u in range(8):
        assert fit.status[u] == FITTED
        rows = slice(tr.units.start[u], tr.units.start[u] + tr.units.length[u])
        r = tr.reward[rows] / fit.scale[u]
        c = tr.continued[rows].astype(float)
        obs = (~tr.censored[rows]).astype(float)
        a = float(fit.alpha[u])
        ref = _reference_objective(a, r, c, obs)
        eta_b = np.array([fit.b0[u], fit.b_v[u], fit.b_delta[u]])
        penalty = 0.5 * CONFIG.ridge * (eta_b[1] ** 2 + eta_b[2] ** 2) + 0.5e-6 * eta_b[0] ** 2
        assert fit.loglik[u] - penalty == pytest.approx(ref, abs=1e-5)
        # α̂ maximises the profile: moving it either way does not improve the likelihood
        # (within the model's domain [alpha_min, alpha_max])
        for other in (max(a * 0.9, CONFIG.alpha_min), min(a * 1.1, CONFIG.alpha_max)):
            assert _reference_objective(other, r, c, obs) <= ref + 1e-6


def test_null_users_are_rarely_significant_and_alpha_is_reported_unidentified() -> None:
    tr = _trials(2, b0=(0.5, 2.5))  # continuation ignores rewards
    fit = fit_engagement(
        tr.reward, tr.continued, tr.censored, tr.units, min_responses=50, config=CONFIG
    )
    ok = fit.status == FITTED
    assert (fit.p_value[ok] < 0.05).mean() <= 0.15
    assert ((fit.b_delta[ok] < 0) & (fit.b_delta_p[ok] < 0.05)).mean() <= 0.1
    assert np.median(fit.alpha_hi[ok] - fit.alpha_lo[ok]) > 0.8  # no effect, no α


def test_strong_effects_are_detected_with_the_right_sign() -> None:
    # |b_δ| ∈ [2, 3], 300 responses: the b_δ likelihood-ratio test (α profiled in both models,
    # so V can absorb part of δ) detects about four users in five at 5 %, never with the
    # wrong sign; the model beats the intercept-only null by AIC for nearly all
    tr, truth = _simulate(
        3, b_delta=(2.0, 3.0), loss_chaser_share=0.5, loss_chaser_b_delta=(-3.0, -2.0)
    )
    fit = fit_engagement(
        tr.reward, tr.continued, tr.censored, tr.units, min_responses=50, config=CONFIG
    )
    ok = fit.status == FITTED
    significant = ok & (fit.b_delta_p < 0.05)
    assert significant.sum() >= 0.7 * ok.sum()
    np.testing.assert_array_equal(np.sign(fit.b_delta[significant]), np.sign(truth[significant]))
    assert (fit.aic_delta[ok] < 0).mean() >= 0.9


def test_users_without_enough_evidence_are_not_fitted() -> None:
    seg = Segments.from_lengths(np.array([10, 60, 60]))
    reward = np.concatenate([np.ones(10), np.ones(60), np.zeros(60)])
    continued = np.concatenate([np.ones(10), np.ones(60), np.arange(60) % 2]).astype(bool)
    censored = np.zeros(130, dtype=bool)
    censored[69] = True  # the never-stopping user's last decision is unobserved
    fit = fit_engagement(reward, continued, censored, seg, min_responses=50, config=CONFIG)
    np.testing.assert_array_equal(fit.status, [INSUFFICIENT_DATA, NO_VARIATION, NO_REWARDS])
    assert np.isnan(fit.alpha).all()
    assert fit.n_obs.tolist() == [10, 59, 60]


def test_parameters_are_per_unit_of_reward() -> None:
    # scaling every reward by 100 changes nothing but the reported scale
    tr = _trials(4, b_delta=(1.0, 2.0))
    a = fit_engagement(
        tr.reward, tr.continued, tr.censored, tr.units, min_responses=50, config=CONFIG
    )
    b = fit_engagement(
        100 * tr.reward, tr.continued, tr.censored, tr.units, min_responses=50, config=CONFIG
    )
    np.testing.assert_allclose(a.b_delta, b.b_delta, rtol=1e-6)
    np.testing.assert_allclose(a.alpha, b.alpha, rtol=1e-6)
    np.testing.assert_allclose(100 * a.scale, b.scale)


def test_each_unit_is_fitted_from_its_own_rows_alone() -> None:
    # a unit's fit is the same, bit for bit, alone or among others (partitions of users give
    # the same report)
    tr = _trials(5, b_delta=(1.0, 3.0), loss_chaser_share=0.5)
    together = fit_engagement(
        tr.reward, tr.continued, tr.censored, tr.units, min_responses=50, config=CONFIG
    )
    for u in (0, 7, 31):
        rows = slice(tr.units.start[u], tr.units.start[u] + tr.units.length[u])
        alone = fit_engagement(
            tr.reward[rows],
            tr.continued[rows],
            tr.censored[rows],
            Segments.from_lengths(tr.units.length[u : u + 1]),
            min_responses=50,
            config=CONFIG,
        )
        for field in ("alpha", "alpha_lo", "alpha_hi", "b_delta", "b_delta_se", "loglik"):
            assert getattr(alone, field)[0] == getattr(together, field)[u], field


def test_a_separable_unit_stays_finite_at_the_penalised_maximum() -> None:
    # continuing exactly when the last reward was a win separates the outcomes: without the
    # prior b_δ would run off to infinity; with it the fit is finite and is the maximum of
    # the independent penalised likelihood
    rng = np.random.default_rng(6)
    win = rng.random(200) < 0.4
    reward = win.astype(float)
    continued = win.copy()
    seg = Segments.from_lengths(np.array([200]))
    fit = fit_engagement(
        reward, continued, np.zeros(200, dtype=bool), seg, min_responses=50, config=CONFIG
    )
    assert fit.status[0] == FITTED
    assert np.isfinite([fit.b0[0], fit.b_v[0], fit.b_delta[0], fit.b_delta_se[0]]).all()
    assert fit.b_delta[0] > 1.0  # a strong effect, held finite by the prior
    ref = _reference_objective(
        float(fit.alpha[0]), reward / fit.scale[0], continued.astype(float), np.ones(200)
    )
    b = np.array([fit.b0[0], fit.b_v[0], fit.b_delta[0]])
    penalty = 0.5 * CONFIG.ridge * (b[1] ** 2 + b[2] ** 2) + 0.5e-6 * b[0] ** 2
    assert fit.loglik[0] - penalty == pytest.approx(ref, abs=1e-4)
