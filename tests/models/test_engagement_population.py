"""Engagement population fit (empirical Bayes): recovery against maximum likelihood, interval
coverage, the population's prior, the integrated BIC against no learning, an exact merge."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.special import expit, logit
from scipy.stats import spearmanr

from models.amounts import amount_bounds
from models.analysis import (
    AnalysisConfig,
    analyse,
    analyse_partition,
    merge,
    split_by_user,
)
from models.analysis.populations import ENGAGEMENT_POPULATION_COLUMNS
from models.engagement import (
    FITTED,
    EngagementConfig,
    EngagementFit,
    EngagementGrids,
    EngagementPopulation,
    PopulationConfig,
    fit_engagement,
    fit_population,
)
from models.engagement.moments import population_moments
from models.engagement.newton import engagement_fits
from models.engagement.posterior import _grid_log_prior, _posterior, _quadratics
from models.profile import alpha_grid
from models.rules import DEFAULT_TABLE
from models.segments import Segments
from models.synthetic import simulate_demo

CONFIG = EngagementConfig()
RESPONSES = 300
# the population: θ = (logit α, b₀, b_V, b_δ) ~ N(MEAN, diag SD²)
MEAN = np.array([-1.0, 1.5, 0.5, 1.0])
SD = np.array([0.8, 0.5, 0.5, 1.0])


def _simulate(
    n: int, mean: NDArray[np.float64], sd: NDArray[np.float64], seed: int
) -> tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64]]:
    """n users of RESPONSES responses each, rewarded 1 with probability 0.3, who learn V by
    Rescorla-Wagner and continue with P = σ(b₀ + b_V·Vₜ₊₁ + b_δ·δₜ): rewards, continues (both
    (n·RESPONSES,), users one after another) and the truth (n, 4) as (α, b₀, b_V, b_δ)."""
    rng = np.random.default_rng(seed)
    theta = mean + sd * rng.standard_normal((n, 4))
    alpha = expit(theta[:, 0])
    reward = (rng.random((n, RESPONSES)) < 0.3).astype(np.float64)
    continued = np.empty((n, RESPONSES), dtype=np.bool_)
    v = np.zeros(n)
    for t in range(RESPONSES):
        delta = reward[:, t] - v
        v = v + alpha * delta
        eta = theta[:, 1] + theta[:, 2] * v + theta[:, 3] * delta
        continued[:, t] = rng.random(n) < expit(eta)
    truth = np.column_stack([alpha, theta[:, 1:]])
    return reward.ravel(), continued.ravel(), truth


def _fit(
    reward: NDArray[np.float64], continued: NDArray[np.bool_], n: int
) -> tuple[EngagementFit, EngagementGrids]:
    fit = fit_engagement(
        reward,
        continued,
        np.zeros(reward.shape[0], dtype=np.bool_),
        Segments.from_lengths(np.full(n, RESPONSES)),
        min_responses=30,
        config=CONFIG,
    )
    keys = np.array([f"user{i:05d}" for i in range(n)], dtype=object)
    return fit, EngagementGrids.of(fit, keys)


def _rmse(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


@pytest.fixture(scope="module")
def population() -> tuple[EngagementFit, EngagementPopulation, NDArray[np.float64]]:
    n = 500
    reward, continued, truth = _simulate(n, MEAN, SD, seed=0)
    fit, grids = _fit(reward, continued, n)
    assert (fit.status == FITTED).all()
    return fit, fit_population(grids, CONFIG, PopulationConfig()), truth


def test_posterior_recovers_parameters_better_than_maximum_likelihood(
    population: tuple[EngagementFit, EngagementPopulation, NDArray[np.float64]],
) -> None:
    fit, pop, truth = population
    figures = []
    for j, name, ml, eb in (
        (0, "alpha", fit.alpha, pop.alpha),
        (2, "b_v", fit.b_v, pop.b_v),
        (3, "b_delta", fit.b_delta, pop.b_delta),
    ):
        rho_ml, rho_eb = spearmanr(ml, truth[:, j])[0], spearmanr(eb, truth[:, j])[0]
        rmse_ml, rmse_eb = _rmse(ml, truth[:, j]), _rmse(eb, truth[:, j])
        figures.append(
            f"{name}: Spearman {rho_ml:.3f} → {rho_eb:.3f}, RMSE {rmse_ml:.3f} → {rmse_eb:.3f}"
        )
        assert rho_eb >= rho_ml, name
        assert rmse_eb < rmse_ml, name
    print("\nML → EB, 500 users × 300 responses:", "; ".join(figures))


def test_posterior_intervals_cover_the_truth(
    population: tuple[EngagementFit, EngagementPopulation, NDArray[np.float64]],
) -> None:
    _, pop, truth = population
    cover_delta = float(np.mean((pop.b_delta_lo <= truth[:, 3]) & (truth[:, 3] <= pop.b_delta_hi)))
    cover_v = float(np.mean((pop.b_v_lo <= truth[:, 2]) & (truth[:, 2] <= pop.b_v_hi)))
    cover_alpha = float(np.mean((pop.alpha_lo <= truth[:, 0]) & (truth[:, 0] <= pop.alpha_hi)))
    print(
        f"\n95 % posterior coverage: b_δ {cover_delta:.3f}, b_V {cover_v:.3f}, α {cover_alpha:.3f}"
    )
    assert 0.85 <= cover_delta <= 0.99
    assert 0.85 <= cover_alpha <= 0.99
    assert 0.80 <= cover_v <= 0.99
    assert np.all(pop.b_delta_lo <= pop.b_delta)
    assert np.all(pop.b_delta <= pop.b_delta_hi)
    assert np.all(pop.alpha_lo <= pop.alpha)
    assert np.all(pop.alpha <= pop.alpha_hi)


def test_population_prior_is_recovered(
    population: tuple[EngagementFit, EngagementPopulation, NDArray[np.float64]],
) -> None:
    _, pop, _ = population
    sd = np.sqrt(pop.var)
    print(f"\nprior mean {np.round(pop.mean, 3)} (true {MEAN}), sd {np.round(sd, 3)} (true {SD})")
    assert pop.prior == "fitted"
    assert pop.converged
    # logit α, b₀, b_δ closely; b_V (barely constrained where V hardly moves) more loosely
    np.testing.assert_allclose(pop.mean[[0, 1, 3]], MEAN[[0, 1, 3]], atol=0.15)
    assert abs(pop.mean[2] - MEAN[2]) <= 0.25
    np.testing.assert_allclose(sd[[0, 1, 3]], SD[[0, 1, 3]], rtol=0.2)
    assert 0.6 * SD[2] <= sd[2] <= 1.3 * SD[2]


def test_no_learning_wins_only_without_effects() -> None:
    n = 300
    none = np.array([0.8, 0.5, 0.0, 0.0])
    pops = {}
    for label, mean, sd, seed in (
        ("none", np.array([-1.0, 1.5, 0.0, 0.0]), none, 1),
        ("effects", MEAN, SD, 2),
    ):
        reward, continued, _ = _simulate(n, mean, sd, seed)
        pops[label] = fit_population(_fit(reward, continued, n)[1], CONFIG, PopulationConfig())
    assert pops["none"].ibic > pops["none"].ibic_null
    assert pops["effects"].ibic < pops["effects"].ibic_null
    # one mechanic, half its users without effects: per user, the Bayes factor sides with the
    # truth for most
    half = n // 2
    r0, c0, _ = _simulate(half, np.array([-1.0, 1.5, 0.0, 0.0]), none, 3)
    r1, c1, _ = _simulate(half, np.array([-1.0, 1.5, 0.5, 1.5]), np.array([0.8, 0.5, 0.3, 0.5]), 4)
    _, grids = _fit(np.concatenate([r0, r1]), np.concatenate([c0, c1]), n)
    mixed = fit_population(grids, CONFIG, PopulationConfig())
    null_share = float(np.mean(mixed.log_bf[:half] < 0))
    effect_share = float(np.mean(mixed.log_bf[half:] > 0))
    gap = {k: p.ibic - p.ibic_null for k, p in pops.items()}
    print(
        f"\nΔiBIC (model − no learning): no effects {gap['none']:+.1f}, "
        f"effects {gap['effects']:+.1f}; mixed: log BF < 0 for "
        f"{null_share:.3f} of users without effects, > 0 for {effect_share:.3f} with"
    )
    assert mixed.ibic < mixed.ibic_null
    assert null_share >= 0.75
    assert effect_share >= 0.9


def test_partitions_give_the_same_population_fit() -> None:
    n = 60
    reward, continued, _ = _simulate(n, MEAN, SD, seed=5)
    _, whole = _fit(reward, continued, n)
    # the same users fitted in two partitions of different sizes, handed over out of order
    pieces = []
    for users in (np.arange(0, 23), np.arange(23, n)):
        rows = (users[:, None] * RESPONSES + np.arange(RESPONSES)).ravel()
        fit, _ = _fit(reward[rows], continued[rows], users.shape[0])
        keys = np.array([f"user{i:05d}" for i in users], dtype=object)
        pieces.append(EngagementGrids.of(fit, keys))
    a = fit_population(EngagementGrids.pooled([whole]), CONFIG, PopulationConfig())
    b = fit_population(EngagementGrids.pooled(pieces[::-1]), CONFIG, PopulationConfig())
    for field in ("mean", "var", "alpha", "alpha_lo", "b_v_hi", "b_delta", "b_delta_lo", "log_bf"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    assert a.ibic == b.ibic
    assert a.ibic_null == b.ibic_null


def test_few_units_get_the_default_prior() -> None:
    n = 5
    reward, continued, _ = _simulate(n, MEAN, SD, seed=6)
    pop = fit_population(_fit(reward, continued, n)[1], CONFIG, PopulationConfig())
    assert pop.prior == "default"
    assert pop.iterations == 0
    assert np.all(np.isfinite(pop.b_delta_lo))
    assert np.all(np.isfinite(pop.log_bf))


def _penalised_hessian(
    reward: NDArray[np.float64], continued: NDArray[np.bool_], alpha: float, b: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The negative Hessian of the log-likelihood with a N(0, 1) prior on b_V and b_δ (and the
    kernel's 10⁻⁶ precision on b₀) at b, by central differences, V by a plain loop."""
    v, vs, ds = 0.0, [], []
    for r in reward.tolist():
        ds.append(r - v)
        v += alpha * (r - v)
        vs.append(v)
    x = np.column_stack([np.ones(reward.shape[0]), vs, ds])
    c = continued.astype(np.float64)
    precision = np.array([1e-6, 1.0, 1.0])

    def f(point: NDArray[np.float64]) -> float:
        eta = x @ point
        return float(np.sum(c * eta - np.logaddexp(0.0, eta)) - 0.5 * np.sum(precision * point**2))

    step = 1e-4
    out = np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            e_i, e_j = np.eye(3)[i] * step, np.eye(3)[j] * step
            out[i, j] = -(f(b + e_i + e_j) - f(b + e_i - e_j) - f(b - e_i + e_j) + f(b - e_i - e_j))
    return out / (4.0 * step * step)


def test_kernel_hessian_is_the_curvature_at_the_fit() -> None:
    # the negative Hessian the kernel hands out is that of the penalised log-likelihood at the
    # fit's coefficients, and asking for it changes no other output
    reward, continued, _ = _simulate(2, MEAN, SD, seed=7)
    observed = np.ones(reward.shape[0], dtype=np.bool_)
    start, length = np.array([0, RESPONSES]), np.full(2, RESPONSES)
    alphas = np.array([[0.1, 0.5]] * 2)

    def fits(hessian: NDArray[np.float64] | None) -> tuple[NDArray[np.float64], ...]:
        return engagement_fits(
            reward, continued, observed, start, length, alphas, np.zeros((2, 3)),
            v0=0.0, ridge=1.0, iterations=100, tolerance=1e-12, exact=False,
            with_reduced=False, hessian=hessian,
        )  # fmt: skip

    hessian = np.full((2, 2, 6), np.nan)
    with_hessian, without = fits(hessian), fits(None)
    for x, y in zip(with_hessian, without, strict=True):
        np.testing.assert_array_equal(x, y)
    for k in range(2):
        rows = slice(k * RESPONSES, (k + 1) * RESPONSES)
        for g in range(2):
            h = hessian[g, k]
            kernel = np.array([[h[0], h[1], h[2]], [h[1], h[3], h[4]], [h[2], h[4], h[5]]])
            numeric = _penalised_hessian(
                reward[rows], continued[rows], float(alphas[k, g]), with_hessian[2][g, k]
            )
            np.testing.assert_allclose(kernel, numeric, rtol=1e-4, atol=1e-4)


def test_compiled_moments_match_the_posterior() -> None:
    # the prior's fit reads each unit's moments from one compiled pass; the reported posterior
    # comes from the numpy blocks: the two are the same computation
    n = 200
    reward, continued, _ = _simulate(n, MEAN, SD, seed=8)
    _, grids = _fit(reward, continued, n)
    quad = _quadratics(grids, CONFIG.expansion_ridge)
    xs = logit(alpha_grid(CONFIG.alpha_grid, CONFIG.alpha_min, CONFIG.alpha_max))
    log_w = _grid_log_prior(xs, -0.5, 1.5)
    mean, precision = np.array([1.0, 0.3, 0.5]), np.array([2.0, 3.0, 0.7])
    log_evidence, first, second = population_moments(quad, log_w, xs, mean, precision)
    post = _posterior(quad, log_w, mean, precision)
    p = np.exp(post.log_post)
    np.testing.assert_allclose(log_evidence, post.log_evidence, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(first[:, 0], p @ xs, rtol=1e-10, atol=1e-10)
    for j in range(3):
        np.testing.assert_allclose(
            first[:, j + 1], np.sum(p * post.mean[j], axis=1), rtol=1e-10, atol=1e-10
        )
        np.testing.assert_allclose(
            second[:, j + 1],
            np.sum(p * (post.mean[j] ** 2 + post.var[j]), axis=1),
            rtol=1e-10,
            atol=1e-10,
        )


def test_analysis_reports_the_population_fit_whatever_the_partitions() -> None:
    # the users' posterior columns and the mechanic's population, from the whole log and from
    # three partitions merged: the same bits
    columns = simulate_demo(0).events
    config = AnalysisConfig(observed_until=float(columns.t.max()))
    whole = analyse(columns, config=config, table=DEFAULT_TABLE)
    bounds = amount_bounds(columns)
    parts = [analyse_partition(p, config=config, bounds=bounds) for p in split_by_user(columns, 3)]
    merged = merge(parts, config=config, table=DEFAULT_TABLE)
    fitted = whole.users["fit_status"] == "fitted"
    assert fitted.any()
    for name in ENGAGEMENT_POPULATION_COLUMNS:
        a, b = whole.users[name].astype(float), merged.users[name].astype(float)
        np.testing.assert_array_equal(a, b, err_msg=name)
        assert np.isfinite(a[fitted]).all(), name
        assert np.isnan(a[~fitted]).all(), name
    lo, mid, hi = (whole.users[k][fitted] for k in ("b_delta_eb_lo", "b_delta_eb", "b_delta_eb_hi"))
    assert np.all(lo <= mid)
    assert np.all(mid <= hi)
    summaries = [m.users.get("engagement_population") for m in whole.mechanics]
    assert any(s is not None for s in summaries)
    for m_whole, m_merged in zip(whole.mechanics, merged.mechanics, strict=True):
        assert m_whole.users.get("engagement_population") == m_merged.users.get(
            "engagement_population"
        )
