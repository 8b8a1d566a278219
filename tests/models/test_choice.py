"""Choice fits (hBayesDM bandit2arm_delta): recovery, agreement with independent fits, and the
empirical-Bayes population fit (Huys et al. 2011) against direct computations."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import expit, logit
from scipy.stats import spearmanr

from models.choice import (
    FITTED,
    INSUFFICIENT_DATA,
    NO_VARIATION,
    ChoiceConfig,
    ChoiceFit,
    ChoiceGrids,
    fit_choice,
    fit_population,
    grid_axes,
)
from models.segments import Segments
from models.trials import build_trials
from validation.validate import CHOICE_MIN_SPEARMAN, choice_bar, choice_product

CONFIG = ChoiceConfig()


def test_recovery_bars_at_test_size() -> None:
    bar = choice_bar(100, seed=1, reference_users=0)
    assert bar.alpha_spearman >= CHOICE_MIN_SPEARMAN
    assert bar.beta_spearman >= CHOICE_MIN_SPEARMAN
    assert 0.85 <= bar.alpha_coverage <= 0.99


def _independent_max_loglik(choices: list[int], rewards: list[float]) -> float:
    """Nelder-Mead on (logit α, β/β_max logit) from a grid of starts; the softmax likelihood
    written trial by trial, as in the hBayesDM Stan model."""

    def loglik(alpha: float, beta: float) -> float:
        q = [0.0, 0.0]
        total = 0.0
        for c, r in zip(choices, rewards, strict=True):
            z0, z1 = beta * q[0], beta * q[1]
            m = max(z0, z1)
            total += (z0 if c == 0 else z1) - m - math.log(math.exp(z0 - m) + math.exp(z1 - m))
            q[c] += alpha * (r - q[c])
        return total

    def neg(x: np.ndarray) -> float:
        return -loglik(float(expit(x[0])), CONFIG.beta_max * float(expit(x[1])))

    best = -math.inf
    for a0 in (-2.0, 0.0, 2.0):
        for b0 in (-4.0, -2.0, 0.0):
            res = minimize(
                neg, [a0, b0], method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-12}
            )
            best = max(best, -float(res.fun))
    # the optimum may sit on a bound, which the transformed search only approaches
    for alpha in (0.0, 1.0):

        def on_bound(x: np.ndarray, alpha: float = alpha) -> float:
            return -loglik(alpha, CONFIG.beta_max * float(expit(x[0])))

        best = max(best, -float(minimize(on_bound, [0.0]).fun))
    return best


def test_max_loglik_matches_an_independent_fit() -> None:
    product = choice_product(15, 200, seed=7)
    cols = product.events
    tr = build_trials(cols, session_gap_s=1800.0, observed_until=float(cols.t.max()))
    choice = tr.option.astype(np.int64)
    fit = fit_choice(
        choice, tr.reward, tr.units, n_available=np.full(15, 2), min_choices=20, config=CONFIG
    )
    for u in range(15):
        rows = slice(tr.units.start[u], tr.units.start[u] + tr.units.length[u])
        ref = _independent_max_loglik(choice[rows].tolist(), tr.reward[rows].tolist())
        assert fit.loglik[u] == pytest.approx(ref, abs=1e-3)


def test_statuses_say_why_a_user_was_not_fitted() -> None:
    seg = Segments.from_lengths(np.array([10, 40, 40]))
    choice = np.concatenate([np.arange(10) % 2, np.zeros(40), np.arange(40) % 2]).astype(np.int64)
    reward = np.ones(90)
    fit = fit_choice(
        choice, reward, seg, n_available=np.array([2, 1, 2]), min_choices=20, config=CONFIG
    )
    np.testing.assert_array_equal(fit.status, [INSUFFICIENT_DATA, NO_VARIATION, FITTED])
    assert fit.loglik_null[2] == pytest.approx(-40 * math.log(2))


def test_a_greedy_learner_is_recovered_exactly_enough() -> None:
    # one simulated user with α = 0.3, β = 8 over 2,000 trials: well identified
    rng = np.random.default_rng(0)
    q = np.zeros(2)
    choices, rewards = [], []
    for _ in range(2000):
        p1 = expit(8.0 * (q[1] - q[0]))
        c = int(rng.random() < p1)
        r = float(rng.random() < (0.7 if c == 0 else 0.3))
        q[c] += 0.3 * (r - q[c])
        choices.append(c)
        rewards.append(r)
    fit = fit_choice(
        np.array(choices),
        np.array(rewards),
        Segments.from_lengths(np.array([2000])),
        n_available=np.array([2]),
        min_choices=20,
        config=CONFIG,
    )
    assert fit.alpha[0] == pytest.approx(0.3, abs=0.1)
    assert fit.beta[0] == pytest.approx(8.0, rel=0.25)
    assert fit.alpha_lo[0] < 0.3 < fit.alpha_hi[0]


# ------------------------------------------------------------------ population (empirical Bayes)

TRUE_MEAN = (float(logit(0.3)), math.log(4.0))  # logit α, log β
TRUE_SD = (1.2, 0.6)  # α mostly in 0.04–0.85, β in 1.2–13


def _simulate_bandit(
    n: int, trials: int, seed: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """n users of a two-armed bandit paying 1 with probability 0.7 / 0.3, learning by
    Rescorla-Wagner and choosing by softmax; logit α and log β drawn from independent normals.
    Returns α (n,), β (n,), and choices and rewards user by user (n·trials,)."""
    rng = np.random.default_rng(seed)
    alpha = expit(rng.normal(TRUE_MEAN[0], TRUE_SD[0], n))
    beta = np.exp(rng.normal(TRUE_MEAN[1], TRUE_SD[1], n))
    q = np.zeros((n, 2))
    pay = np.array([0.7, 0.3])
    choices = np.empty((n, trials), dtype=np.int64)
    rewards = np.empty((n, trials))
    users = np.arange(n)
    for t in range(trials):
        c = (rng.random(n) < expit(beta * (q[:, 1] - q[:, 0]))).astype(np.int64)
        r = (rng.random(n) < pay[c]).astype(np.float64)
        q[users, c] += alpha * (r - q[users, c])
        choices[:, t], rewards[:, t] = c, r
    return alpha, beta, choices.ravel(), rewards.ravel()


def _grids(fit: ChoiceFit, n_options: int = 2) -> ChoiceGrids:
    n = fit.status.shape[0]
    return ChoiceGrids(
        key=np.array([f"u{i:05d}" for i in range(n)], dtype=object),
        loglik=fit.loglik,
        rel=fit.grid,
        n_choices=fit.n_choices,
        n_options=np.full(n, n_options),
        loglik_pref=fit.loglik_pref,
    )


def _fit_simulated(n: int, trials: int, seed: int) -> tuple[Any, ...]:
    alpha, beta, choices, rewards = _simulate_bandit(n, trials, seed)
    fit = fit_choice(
        choices,
        rewards,
        Segments.from_lengths(np.full(n, trials)),
        n_available=np.full(n, 2),
        min_choices=20,
        config=CONFIG,
    )
    return alpha, beta, choices, rewards, fit, fit_population(_grids(fit), CONFIG)


SIMULATED = _fit_simulated(400, 200, seed=20)


def test_population_fit_recovers_alpha_and_beta_at_200_trials() -> None:
    alpha, beta, _, _, fit, pop = SIMULATED
    assert pop.prior == "em"
    assert pop.converged
    assert spearmanr(pop.alpha, alpha)[0] >= 0.9
    assert spearmanr(pop.beta, beta)[0] >= 0.9
    assert abs(float(np.mean(pop.beta - beta))) < 1.0
    # maximum likelihood on the same data: β runs off to its bound for some users
    assert float(np.mean(fit.beta - beta)) > abs(float(np.mean(pop.beta - beta)))
    assert bool(np.any(fit.beta >= CONFIG.beta_max - 1e-6))
    assert float(pop.beta.max()) < 0.5 * CONFIG.beta_max  # never pinned at the bound
    covered_a = (pop.alpha_lo <= alpha) & (alpha <= pop.alpha_hi)
    covered_b = (pop.beta_lo <= beta) & (beta <= pop.beta_hi)
    assert 0.85 <= float(covered_a.mean()) <= 0.99
    assert 0.85 <= float(covered_b.mean()) <= 0.99


def test_population_prior_recovers_the_population() -> None:
    """μ and Σ against the moments of the simulated users' own (logit α, log β)."""
    alpha, beta, *_, pop = SIMULATED
    x = np.stack([logit(alpha), np.log(beta)])
    np.testing.assert_allclose(pop.mean, x.mean(axis=1), atol=0.1)
    np.testing.assert_allclose(np.sqrt(np.diag(pop.cov)), x.std(axis=1), rtol=0.1)
    corr = pop.cov[0, 1] / math.sqrt(pop.cov[0, 0] * pop.cov[1, 1])
    assert corr == pytest.approx(np.corrcoef(x)[0, 1], abs=0.15)


def test_model_comparison_prefers_learning_on_learners() -> None:
    *_, fit, pop = SIMULATED
    assert pop.ibic < pop.bic_preference < pop.bic_random
    # the integrated likelihood sits below the maximised one, above the fixed-preference one
    assert np.all(pop.log_evidence <= fit.loglik + 1e-6)


def _direct_loglik(choices: list[int], rewards: list[float], alpha: float, beta: float) -> float:
    q = [0.0, 0.0]
    total = 0.0
    for c, r in zip(choices, rewards, strict=True):
        z0, z1 = beta * q[0], beta * q[1]
        m = max(z0, z1)
        total += (z0 if c == 0 else z1) - m - math.log(math.exp(z0 - m) + math.exp(z1 - m))
        q[c] += alpha * (r - q[c])
    return total


def test_grid_loglik_is_the_likelihood_at_the_grid_points() -> None:
    _, _, choices, rewards, fit, _ = SIMULATED
    xa, xb = grid_axes(CONFIG)
    for u in (0, 7):
        c = choices[u * 200 : (u + 1) * 200].tolist()
        r = rewards[u * 200 : (u + 1) * 200].tolist()
        for i in range(0, xa.shape[0], 3):
            for j in range(0, xb.shape[0], 3):
                direct = _direct_loglik(c, r, float(expit(xa[i])), math.exp(xb[j]))
                stored = float(fit.grid[u, i, j]) + float(fit.loglik[u])
                assert stored == pytest.approx(direct, abs=1e-4 * max(1.0, abs(direct)))


def test_posterior_mode_matches_a_direct_map_fit() -> None:
    """The grid mode against Nelder-Mead on the exact log-likelihood plus the fitted prior."""
    _, _, choices, rewards, _, pop = SIMULATED
    inv = np.linalg.inv(pop.cov)
    for u in range(0, 400, 50):
        c = choices[u * 200 : (u + 1) * 200].tolist()
        r = rewards[u * 200 : (u + 1) * 200].tolist()

        def neg(x: NDArray[np.float64], c: list[int] = c, r: list[float] = r) -> float:
            d = x - pop.mean
            prior = -0.5 * float(d @ inv @ d)
            return -(_direct_loglik(c, r, float(expit(x[0])), math.exp(x[1])) + prior)

        start = np.array([logit(pop.alpha[u]), math.log(pop.beta[u])])
        res = minimize(neg, start, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9})
        assert float(logit(pop.alpha[u])) == pytest.approx(res.x[0], abs=0.1)
        assert math.log(pop.beta[u]) == pytest.approx(res.x[1], abs=0.06)


def test_em_agrees_with_direct_marginal_likelihood_maximisation() -> None:
    """Gaussian likelihoods on the grid, with known widths: the population prior that maximises
    the marginal likelihood is known in closed form (mean of the peaks, their variance less the
    likelihood width's), and, on the α axis, scipy's maximisation of the same grid marginal
    likelihood, written independently, must agree with the EM."""
    rng = np.random.default_rng(4)
    n, s_a, s_b = 300, 0.5, 0.4
    y = rng.normal(-0.5, 0.8, n)
    z = rng.normal(1.2, 0.5, n)
    xa, xb = grid_axes(CONFIG)
    rel = -((xa[None, :, None] - y[:, None, None]) ** 2) / (2 * s_a**2) - (
        (xb[None, None, :] - z[:, None, None]) ** 2
    ) / (2 * s_b**2)
    grids = ChoiceGrids(
        key=np.arange(n).astype(str).astype(object),
        loglik=np.zeros(n),
        rel=rel.astype(np.float32),
        n_choices=np.full(n, 100),
        n_options=np.full(n, 2),
        loglik_pref=np.zeros(n),
    )
    pop = fit_population(grids, CONFIG)
    assert pop.converged
    # closed form (the grid spans ±4.6 and −3.0…3.9, so truncation is negligible)
    assert pop.mean[0] == pytest.approx(y.mean(), abs=0.01)
    assert pop.mean[1] == pytest.approx(z.mean(), abs=0.01)
    assert pop.cov[0, 0] == pytest.approx(y.var() - s_a**2, abs=0.02)
    assert pop.cov[1, 1] == pytest.approx(z.var() - s_b**2, abs=0.02)

    # direct maximisation of the α-axis marginal likelihood Σᵢ log Σ_g Lᵢ(g)·w_g(μ, σ)
    like_a = np.exp(-((xa[None, :] - y[:, None]) ** 2) / (2 * s_a**2))

    def neg_marginal(p: NDArray[np.float64]) -> float:
        w = np.exp(-0.5 * ((xa - p[0]) / math.exp(p[1])) ** 2)
        w /= w.sum()
        return -float(np.log(like_a @ w).sum())

    res = minimize(neg_marginal, [0.0, 0.0], method="Nelder-Mead", options={"xatol": 1e-8})
    assert pop.mean[0] == pytest.approx(res.x[0], abs=5e-3)
    assert math.sqrt(pop.cov[0, 0]) == pytest.approx(math.exp(res.x[1]), abs=5e-3)


def test_population_fit_ignores_how_units_were_split() -> None:
    *_, fit, _ = SIMULATED
    whole = _grids(fit).take(np.arange(120))
    a = ChoiceGrids.pooled([whole])
    b = ChoiceGrids.pooled([whole.take(np.arange(70, 120)), whole.take(np.arange(69, -1, -1))])
    fa, fb = fit_population(a, CONFIG), fit_population(b, CONFIG)
    for name in ("mean", "cov", "alpha", "alpha_lo", "beta", "beta_hi", "log_evidence"):
        assert getattr(fa, name).tobytes() == getattr(fb, name).tobytes(), name
    assert fa.ibic == fb.ibic


def test_few_units_get_the_default_prior() -> None:
    *_, fit, _ = SIMULATED
    pop = fit_population(_grids(fit).take(np.arange(CONFIG.min_population - 1)), CONFIG)
    assert pop.prior == "default"
    assert pop.iterations == 0
    assert np.all(np.isfinite(pop.alpha))
    assert np.all(np.isfinite(pop.beta))
