"""The engagement population fit.

Population fit (empirical Bayes; Huys et al. 2011, as the choice model's `fit_population`).
Per mechanic, every fitted unit's θ = (logit α, b₀, b_V, b_δ) is drawn from one Gaussian prior
N(μ, diag σ²), fitted by maximising the marginal likelihood of all its units,

    log p(D | μ, σ²) = Σᵢ log Σ_g w_g ∫ p(Dᵢ | α_g, b) N(b; μ_b, diag σ_b²) db,

with w_g ∝ N(logit α_g; μ_α, σ_α²) on the α grid (Σ_g w_g = 1). b₀ has a prior of its own too,
so that both this model and the no-learning one are integrated over everything they fit; its
variance is learnt, so units' baseline continue rates are shrunk only as far as they agree.
The integral over b is a Laplace approximation: at each grid α the unit is fitted once more
under a working prior N(0, 1) on b_V and b_δ (`EngagementConfig.expansion_ridge`), and its
log-likelihood is taken as the quadratic about that maximum (`_posterior`), under which the
posterior of b is Gaussian and the integral closed-form for any prior. Each partition stores,
per fitted unit, the maximum, coefficients and Hessian at each grid α (`EngagementGrids`: 2 KB a
unit at G = 25), and the merge, which sees every unit of the mechanic in user-id order, runs
the fit of the prior:

    E-step:  per unit, the posterior over the grid and, at each grid α, over b, and its first
             and second moments;
    update:  the prior's means and log variances by a quasi-Newton step (L-BFGS-B; variances
             at least (half a grid step)² for logit α, B_VAR_FLOOR for each b, and logit α's
             at most the grid's span squared, beyond which the prior is flat on the grid) along
             the exact gradient of the marginal likelihood, the posterior expectation of the
             prior's score. EM's M-step from the same moments (μ = mean of the posterior means,
             σ² = mean posterior second moment − μ²) crawls where a variance tends to its floor,
             as b_V's and b_δ's do when users have no effect; quasi-Newton does not.

Fewer than `min_population` units: a fixed broad prior. Each unit's α is its posterior mode on
the grid (moved to the parabola's vertex) with a 95 % central interval; b_V and b_δ are
posterior means with 95 % central intervals of their posteriors, mixtures over the grid of
Gaussians. The model comparison is the integrated
BIC against the no-learning model P(c) = σ(b₀), b₀ ~ N(μ₀, σ₀²), whose prior is fitted the
same way (Laplace at each unit's logit continue rate, `_null_population`):

    iBIC = −2 Σᵢ log p(Dᵢ | μ̂, σ̂²) + k·log Σᵢ nᵢ      (k = 8 for the model, 2 for no learning),

and per unit the log Bayes factor log p(Dᵢ | μ̂, σ̂²) − log p(Dᵢ | μ̂₀, σ̂₀²) (> 0 favours learning).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import expit, logit

from models.engagement.grids import EngagementGrids, PopulationConfig
from models.engagement.posterior import (
    _CHUNK,
    _grid_log_prior,
    _marginal,
    _mixture_quantiles,
    _posterior,
    _quadratics,
)
from models.engagement.unit_fit import EngagementConfig
from models.profile import (
    alpha_grid,
    parabolic_peak,
    quantiles_on_cells,
)

# what the iBIC penalises: the prior's mean and variance of logit α, b₀, b_V and b_δ; of the
# null's b₀
POPULATION_PARAMETERS = 8


NULL_POPULATION_PARAMETERS = 2


# the prior's variances are kept at least (half a grid step)² for logit α and B_VAR_FLOOR
# for each b (per typical reward: far below any unit's posterior variance)
B_VAR_FLOOR = 0.05**2


# the population's mean and SD of each b stay within ±B_LIMIT per typical reward, far beyond
# any real effect (σ(±50) is certainty), so the prior's fit never wanders to where it overflows
B_LIMIT = 50.0


@dataclass(frozen=True, kw_only=True)
class EngagementPopulation:
    """Empirical-Bayes fit of one mechanic's engagement units.

    mean (4,), var (4,): the Gaussian prior over θ = (logit α, b₀, b_V, b_δ); prior: "fitted"
    or "default" (too few units to fit it); iterations, converged: of its fit.
    null_mean, null_var: the no-learning model's prior over its b₀.
    Per unit (n,): alpha — the posterior mode; b_v, b_delta — posterior means; each with a
    95 % central posterior interval (_lo, _hi); log_evidence, log_evidence_null —
    log p(Dᵢ | prior) under the model and the no-learning model; log_bf — their difference
    (> 0 favours learning).
    Model comparison (lower is better): ibic (the model), ibic_null (no learning).
    """

    mean: NDArray[np.float64]
    var: NDArray[np.float64]
    prior: str
    iterations: int
    converged: bool
    null_mean: float
    null_var: float
    alpha: NDArray[np.float64]
    alpha_lo: NDArray[np.float64]
    alpha_hi: NDArray[np.float64]
    b_v: NDArray[np.float64]
    b_v_lo: NDArray[np.float64]
    b_v_hi: NDArray[np.float64]
    b_delta: NDArray[np.float64]
    b_delta_lo: NDArray[np.float64]
    b_delta_hi: NDArray[np.float64]
    log_evidence: NDArray[np.float64]
    log_evidence_null: NDArray[np.float64]
    log_bf: NDArray[np.float64]
    ibic: float
    ibic_null: float


def _null_population(
    grids: EngagementGrids, config: PopulationConfig
) -> tuple[float, float, NDArray[np.float64]]:
    """The no-learning model, P(c) = σ(b₀), with b₀ ~ N(μ₀, σ₀²) over the units: the prior that
    maximises the marginal likelihood and each unit's log p(Dᵢ | μ₀, σ₀²), by the Laplace
    approximation at the unit's b̂₀ = logit of its continue rate p (curvature h = n·p·(1 − p)),
    under which b̂₀ ~ N(μ₀, 1/h + σ₀²):

        log p(Dᵢ) = ℓ̂₀ᵢ + ½·log(Sᵢ⁻¹/hᵢ) − ½·(b̂₀ᵢ − μ₀)²/Sᵢ,   Sᵢ = 1/hᵢ + σ₀².
    """
    n_obs = grids.n_obs.astype(np.float64)
    n_cont = grids.n_continued.astype(np.float64)
    p = n_cont / n_obs
    b_hat = np.log(p / (1.0 - p))
    h = n_obs * p * (1.0 - p)
    loglik = n_cont * np.log(p) + (n_obs - n_cont) * np.log1p(-p)

    def log_evidence(mean: float, var: float) -> NDArray[np.float64]:
        total = 1.0 / h + var
        return np.asarray(
            loglik - 0.5 * np.log(h * total) - 0.5 * (b_hat - mean) ** 2 / total, dtype=np.float64
        )

    def objective(phi: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        mean, var = float(phi[0]), math.exp(float(phi[1]))
        total = 1.0 / h + var
        gap = b_hat - mean
        grad = np.array(
            [np.mean(gap / total), 0.5 * var * np.mean(gap * gap / total**2 - 1.0 / total)]
        )
        return -float(log_evidence(mean, var).mean()), -grad

    mean, var = 0.0, config.default_sd**2
    if b_hat.shape[0] >= config.min_population:
        result = minimize(
            objective,
            np.array([float(np.mean(b_hat)), math.log(max(float(np.var(b_hat)), B_VAR_FLOOR))]),
            jac=True,
            method="L-BFGS-B",
            bounds=[(-B_LIMIT, B_LIMIT), (math.log(B_VAR_FLOOR), 2.0 * math.log(B_LIMIT))],
            options={"maxiter": config.iterations, "gtol": config.tolerance},
        )
        mean, var = float(result.x[0]), math.exp(float(result.x[1]))
    return mean, var, log_evidence(mean, var)


def fit_population(
    grids: EngagementGrids, config: EngagementConfig, population: PopulationConfig
) -> EngagementPopulation:
    """Empirical-Bayes fit of the units' (logit α, b₀, b_V, b_δ): the Gaussian prior with
    diagonal covariance that maximises the marginal likelihood of the units' grid fits, then
    each unit's posterior under it, and the same for the no-learning model, for the integrated
    BIC.

    The units must be in a canonical order (`EngagementGrids.pooled`); everything here is a
    fixed sequence of operations on them, so the result is deterministic.
    """
    xs = logit(alpha_grid(config.alpha_grid, config.alpha_min, config.alpha_max))
    n = grids.key.shape[0]
    floor = np.array([((xs[1] - xs[0]) / 2.0) ** 2, B_VAR_FLOOR, B_VAR_FLOOR, B_VAR_FLOOR])
    span = float(xs[-1] - xs[0])
    # the broad prior: centred, a quarter of the grid's span as logit α's SD, default_sd as b's
    var_b = population.default_sd**2
    theta = np.array(
        [0.5 * float(xs[0] + xs[-1]), 0.0, 0.0, 0.0, (span / 4.0) ** 2, var_b, var_b, var_b]
    )
    prior, iterations, converged = "default", 0, True
    quad = _quadratics(grids, config.expansion_ridge)
    if n >= population.min_population:
        prior = "fitted"
        # the marginal likelihood maximised over (μ, log σ²) by L-BFGS-B with the exact
        # gradient. EM's M-step from the same moments crawls where a variance tends to its
        # floor — as b_V's and b_δ's do where users have no effect, the case the model
        # comparison is for — and quasi-Newton does not. The box: μ_α on the grid, μ_b within
        # ±B_LIMIT; variances at least their floors, σ_α no wider than the grid (a wider prior
        # is flat on it: α not identified), σ_b at most B_LIMIT
        top = 2.0 * math.log(B_LIMIT)
        bounds = [(float(xs[0]), float(xs[-1]))] + [(-B_LIMIT, B_LIMIT)] * 3
        bounds += [(math.log(floor[0]), 2.0 * math.log(span))]
        bounds += [(math.log(f), top) for f in floor[1:]]
        phi0 = np.concatenate([theta[:4], np.log(theta[4:])])
        result = minimize(
            lambda phi: tuple(-v for v in _marginal(phi, quad, xs)),
            phi0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": population.iterations, "gtol": population.tolerance},
        )
        theta = np.concatenate([result.x[:4], np.exp(result.x[4:])])
        iterations, converged = int(result.nit), bool(result.success)
    log_w = _grid_log_prior(xs, float(theta[0]), float(theta[4]))
    out = {
        k: np.empty(n)
        for k in ("x", "x_lo", "x_hi", "b_v", "b_v_lo", "b_v_hi", "b_d", "b_d_lo", "b_d_hi")
    }
    log_evidence = np.empty(n)
    for lo in range(0, n, _CHUNK):
        hi = min(lo + _CHUNK, n)
        post = _posterior(quad[:, lo:hi], log_w, theta[1:4], 1.0 / theta[5:8])
        log_evidence[lo:hi] = post.log_evidence
        # (a grid point without a definite posterior precision weighs nothing: −∞, here a
        # finite floor so the parabola through the neighbours stays defined)
        _, x_mode = parabolic_peak(np.maximum(post.log_post, -1e300).T, xs)
        p = np.exp(post.log_post)
        x_lo, x_hi = quantiles_on_cells(p, xs, (0.025, 0.975))
        out["x"][lo:hi] = x_mode
        out["x_lo"][lo:hi] = np.minimum(x_lo, x_mode)
        out["x_hi"][lo:hi] = np.maximum(x_hi, x_mode)
        for name, j in (("b_v", 1), ("b_d", 2)):
            out[name][lo:hi] = np.sum(p * post.mean[j], axis=1)
            q_lo, q_hi = _mixture_quantiles(
                post.log_post, post.mean[j], post.var[j], (0.025, 0.975)
            )
            out[f"{name}_lo"][lo:hi], out[f"{name}_hi"][lo:hi] = q_lo, q_hi
    null_mean, null_var, log_evidence_null = _null_population(grids, population)
    log_n = math.log(max(float(grids.n_obs.sum()), 1.0))
    return EngagementPopulation(
        mean=theta[:4].copy(),
        var=theta[4:].copy(),
        prior=prior,
        iterations=iterations,
        converged=converged,
        null_mean=null_mean,
        null_var=null_var,
        alpha=expit(out["x"]),
        alpha_lo=expit(out["x_lo"]),
        alpha_hi=expit(out["x_hi"]),
        b_v=out["b_v"],
        b_v_lo=out["b_v_lo"],
        b_v_hi=out["b_v_hi"],
        b_delta=out["b_d"],
        b_delta_lo=out["b_d_lo"],
        b_delta_hi=out["b_d_hi"],
        log_evidence=log_evidence,
        log_evidence_null=log_evidence_null,
        log_bf=log_evidence - log_evidence_null,
        ibic=float(-2.0 * log_evidence.sum() + POPULATION_PARAMETERS * log_n),
        ibic_null=float(-2.0 * log_evidence_null.sum() + NULL_POPULATION_PARAMETERS * log_n),
    )
