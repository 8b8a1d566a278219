"""Per-user engagement model: does reward prediction error drive continuing a session?

After each response t the user continues the session (cₜ = 1) or stops (cₜ = 0):

    P(cₜ = 1) = σ(b₀ + b_V·Vₜ₊₁ + b_δ·δₜ)

with Vₜ₊₁ and δₜ from Rescorla-Wagner at the user's learning rate α (models.expectation), on
rewards divided by the unit's scale s (root mean square of its non-zero rewards), so b_V and b_δ
are per typical reward and comparable across mechanics. b_δ < 0 with a significant test is loss
chasing (continuing after disappointments; the gambler's 'chase', Lesieur 1984); b_δ > 0 is
RPE-driven engagement — our operationalisation (Rutledge et al. 2014 show momentary happiness,
not continuation, tracking recent prediction errors).

Fitting, unit by unit in one compiled pass (`models.kernels.engagement_fits`; maximum
likelihood, Wilson & Collins 2019):
1. profile likelihood over a grid of α shared by all units: at each grid α the unit's
   expectations come from Rescorla-Wagner over its rows, then (b₀, b_V, b_δ) maximise the
   log-likelihood with a weak Gaussian prior (ridge) on b_V and b_δ, which keeps separable cases
   finite. At fixed α that objective is strictly concave; it is maximised by Newton's method
   with a backtracking line search (Armijo condition; gradient steps where the Hessian is not
   numerically definite; Nocedal & Wright 2006, §3.1, §3.4), warm-started from the
   neighbouring grid points — or from the intercept-only null (b₀ = logit of the unit's
   continue rate, b_V = b_δ = 0) where the warm start is worse than it — and iterated until
   converged (half the squared Newton decrement below a tolerance; Boyd & Vandenberghe 2004,
   §9.5). No step is kept that lowers the objective, so every fit ends at or above the null's
   value and the reported log-likelihood is never below the null's (checked);
2. each unit's α̂ is the maximum of its profile (logit scale) searched between its best grid
   point's neighbours by successive parabolic interpolation in a bracket, with golden-section
   steps where the parabola is no use (Brent 1973, ch. 5), then re-fitted exactly there;
3. the 95 % interval is the profile-likelihood interval {α : ℓ(α) ≥ ℓ̂ − χ²₁(0.95)/2}, the hull
   of the evaluated points inside it (the grid and the search's) with linear interpolation to
   the crossings (Venzon & Moolgavkar 1988; Pawitan 2001 §2.6), so it always holds α̂. An
   interval that runs to the end of the grid means α is not identified on that side — reported
   as such, never hidden (cf. Wilson & Collins 2019, rule 5: can the parameters be
   recovered?);
4. the likelihood-ratio test and AIC compare against the intercept-only null P(c) = σ(b₀).

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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.special import expit, logit, logsumexp, ndtr, ndtri
from scipy.stats import chi2

from models.kernels import engagement_fits, population_moments
from models.profile import (
    UnitGrids,
    alpha_grid,
    parabolic_peak,
    profile_interval,
    quantiles_on_cells,
)
from models.segments import Segments

FITTED, INSUFFICIENT_DATA, NO_VARIATION, NO_REWARDS = 0, 1, 2, 3
STATUS_NAMES: tuple[str, ...] = ("fitted", "insufficient_data", "no_variation", "no_rewards")

MIN_EACH_OUTCOME = 3  # fewer stops (or continues) than this cannot inform a logistic slope
NULL_DF = 3  # parameters the null omits: b_V, b_δ and α (α is unidentified under the null)


@dataclass(frozen=True, kw_only=True)
class EngagementConfig:
    """Hyperparameters of the engagement fit.

    alpha_grid:  number of grid points for the α profile, logit-spaced on [alpha_min, alpha_max]
    v0:          initial expectation V₁
    ridge:       precision of the N(0, 1/ridge) prior on b_V and b_δ (per unit reward scale);
                 0.01 is a prior s.d. of 10, negligible against any real effect
    expansion_ridge: precision of the working prior N(0, 1/expansion_ridge) on b_V and b_δ
                 under which each unit is fitted once more at every grid α for the population
                 fit: its maxima are the points of the Laplace approximation, nearer the
                 posterior than the weakly penalised maxima, which run far out along the
                 directions the data barely constrain (b_V against b₀ where V hardly moves)
    iterations:  maximum Newton steps per fit (a fit that needs more is reported unconverged)
    tolerance:   convergence threshold of the reported fit on half the squared Newton decrement,
                 gᵀH⁻¹g/2 — the rise in the penalised log-likelihood another step predicts
    """

    alpha_grid: int = 25
    alpha_min: float = 0.01
    alpha_max: float = 0.99
    v0: float = 0.0
    ridge: float = 0.01
    expansion_ridge: float = 1.0
    iterations: int = 100
    tolerance: float = 1e-10


@dataclass(frozen=True, kw_only=True)
class EngagementFit:
    """Per-unit results, (u,) arrays; NaN where the unit was not fitted.

    status:      FITTED, INSUFFICIENT_DATA, NO_VARIATION (never or always continues) or
                 NO_REWARDS (nothing to learn from)
    n_obs:       observed (uncensored) continue/stop decisions
    alpha:       learning rate; alpha_lo, alpha_hi: 95 % profile-likelihood interval
    b0, b_v, b_delta: engagement weights; b_delta_se: its standard error (at α̂)
    b_delta_p:   p-value of the likelihood-ratio test of b_δ = 0 (χ²₁), α profiled in both models
    loglik, loglik_null: maximised log-likelihoods of the model and of the null
    lr_stat, p_value: likelihood-ratio statistic and its χ²(3) p-value against the null
    aic_delta:   AIC(model) − AIC(null); negative favours the model
    scale:       the reward scale s the b's are expressed in
    converged:   the reported fit met its convergence test within `iterations` steps (False
                 where not fitted)
    n_continued: observed decisions to continue
    grid_objective, grid_b, grid_hessian: (u, G), (u, G, 3), (u, G, 6) at each α of the grid,
                 the maximum under the working prior (`EngagementConfig.expansion_ridge`), its
                 coefficients (b₀, b_V, b_δ) and the penalised negative Hessian there
                 (h₀₀, h₀₁, h₀₂, h₁₁, h₁₂, h₂₂) — what the population fit's Laplace
                 approximation needs (`EngagementGrids`)
    """

    status: NDArray[np.int8]
    n_obs: NDArray[np.int64]
    alpha: NDArray[np.float64]
    alpha_lo: NDArray[np.float64]
    alpha_hi: NDArray[np.float64]
    b0: NDArray[np.float64]
    b_v: NDArray[np.float64]
    b_delta: NDArray[np.float64]
    b_delta_se: NDArray[np.float64]
    b_delta_p: NDArray[np.float64]
    loglik: NDArray[np.float64]
    loglik_null: NDArray[np.float64]
    lr_stat: NDArray[np.float64]
    p_value: NDArray[np.float64]
    aic_delta: NDArray[np.float64]
    scale: NDArray[np.float64]
    converged: NDArray[np.bool_]
    n_continued: NDArray[np.int64]
    grid_objective: NDArray[np.float64]
    grid_b: NDArray[np.float64]
    grid_hessian: NDArray[np.float64]


def reward_scale(reward: NDArray[np.float64], segments: Segments) -> NDArray[np.float64]:
    """(u,) root mean square of each unit's non-zero rewards; 0 when it has none."""
    nonzero = reward != 0.0
    count = segments.sum(nonzero)
    sq = segments.sum(reward * reward)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.sqrt(sq / np.maximum(count, 1.0)), 0.0)


# the α profile's fits stop at a looser tolerance than the reported fit's: a profile value
# within 1e-6 of its maximum is far closer than anything that moves α̂ or its interval
PROFILE_TOLERANCE = 1e-6
# the reported log-likelihood may fall short of the null's only by the vanishing prior on b₀
# (the null's own b₀ pays it: 5e-7·b₀², below 1e-4 for any continue rate in (1e-6, 1 − 1e-6))
# and by rounding
NULL_SLACK = 1e-9


def fit_engagement(
    reward: NDArray[np.float64],
    continued: NDArray[np.bool_],
    censored: NDArray[np.bool_],
    segments: Segments,
    *,
    min_responses: int,
    config: EngagementConfig,
) -> EngagementFit:
    """Fit the engagement model for every unit (segment) at once.

    reward:    (n,) net reward rₜ of each response
    continued: (n,) cₜ, the session continued after response t
    censored:  (n,) cₜ unobservable (excluded from the likelihood; Vₜ still learns from rₜ)
    min_responses: units with fewer observed decisions are INSUFFICIENT_DATA
    """
    u = segments.count
    observed = ~censored
    n_obs = segments.sum(observed).astype(np.int64)
    n_cont = segments.sum(observed & continued)
    n_stop = n_obs - n_cont
    scale = reward_scale(reward, segments)

    status = np.full(u, FITTED, dtype=np.int8)
    status[scale == 0.0] = NO_REWARDS
    status[(n_cont < MIN_EACH_OUTCOME) | (n_stop < MIN_EACH_OUTCOME)] = NO_VARIATION
    status[n_obs < min_responses] = INSUFFICIENT_DATA
    fit = status == FITTED

    nan = np.full(u, np.nan)
    out = {k: nan.copy() for k in ("alpha", "alpha_lo", "alpha_hi", "b0", "b_v", "b_delta")}
    out |= {k: nan.copy() for k in ("b_delta_se", "b_delta_p", "loglik", "loglik_null")}
    out |= {k: nan.copy() for k in ("lr_stat", "p_value")}
    out["aic_delta"] = nan.copy()
    converged = np.zeros(u, dtype=np.bool_)
    n_grid = config.alpha_grid
    grid_objective = np.full((u, n_grid), np.nan)
    grid_b = np.full((u, n_grid, 3), np.nan)
    grid_hessian = np.full((u, n_grid, 6), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_null = n_cont / n_obs
        ll_null = np.where(
            (p_null > 0) & (p_null < 1),
            n_cont * np.log(p_null) + n_stop * np.log1p(-p_null),
            0.0,
        )
    out["loglik_null"] = np.where(n_obs > 0, ll_null, np.nan)

    if fit.any():
        # rewards per unit of the unit's scale (units without rewards are not fitted)
        r = reward / segments.broadcast(np.where(scale > 0.0, scale, 1.0))
        res, converged[fit], grid_pieces = _fit_units(
            r,
            continued,
            observed,
            segments.start[fit],
            segments.length[fit],
            logit(np.clip(p_null[fit], 1e-6, 1 - 1e-6)),
            config,
        )
        for key, values in res.items():
            out[key][fit] = values
        grid_objective[fit], grid_b[fit], grid_hessian[fit] = grid_pieces
        # the guarantee of the fit (every fit starts at or above the null and never steps
        # down): a model that nests the null cannot fit worse than it
        b0_null = logit(np.clip(p_null[fit], 1e-6, 1 - 1e-6))
        slack = 0.5e-6 * b0_null**2 + NULL_SLACK * (1.0 + np.abs(ll_null[fit]))
        if np.any(out["loglik"][fit] < ll_null[fit] - slack):
            raise ArithmeticError("an engagement fit ended below its intercept-only null")
        lr = np.maximum(2.0 * (out["loglik"][fit] - ll_null[fit]), 0.0)
        out["lr_stat"][fit] = lr
        out["p_value"][fit] = chi2.sf(lr, NULL_DF)
        out["aic_delta"][fit] = 2.0 * NULL_DF - lr

    return EngagementFit(
        status=status,
        n_obs=n_obs,
        scale=scale,
        converged=converged,
        n_continued=n_cont.astype(np.int64),
        grid_objective=grid_objective,
        grid_b=grid_b,
        grid_hessian=grid_hessian,
        **out,
    )


def _fit_units(
    r: NDArray[np.float64],
    continued: NDArray[np.bool_],
    observed: NDArray[np.bool_],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    b0_start: NDArray[np.float64],
    config: EngagementConfig,
) -> tuple[
    dict[str, NDArray[np.float64]],
    NDArray[np.bool_],
    tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]],
]:
    """Fit the units whose rows are `start`/`length` of the (n,) arrays; results (u,),
    whether each unit's reported fit converged, and the grid's penalised maxima (u, G), their
    coefficients (u, G, 3) and negative Hessians (u, G, 6)."""
    u = start.shape[0]
    grid = alpha_grid(config.alpha_grid, config.alpha_min, config.alpha_max)
    xs = logit(grid)

    def fits(
        alphas: NDArray[np.float64],
        b: NDArray[np.float64],
        *,
        exact: bool,
        units: NDArray[np.int64] | slice = slice(None),
        hessian: NDArray[np.float64] | None = None,
    ) -> tuple[NDArray[Any], ...]:
        return engagement_fits(
            r, continued, observed, start[units], length[units], alphas, b,
            v0=config.v0, ridge=config.ridge, iterations=config.iterations,
            tolerance=config.tolerance if exact else max(config.tolerance, PROFILE_TOLERANCE),
            exact=exact, with_reduced=not exact, hessian=hessian,
        )  # fmt: skip

    # 1. the profile over the grid, and the model without b_δ at each grid point
    b = np.zeros((u, 3))
    b[:, 0] = b0_start
    profile, reduced, bs, _, _, _ = fits(np.tile(grid, (u, 1)), b, exact=False)

    # 2. each unit's peak searched between its best grid point's neighbours
    peak = _search_peak(
        profile, bs, grid, lambda a, b_, units: fits(a[:, None], b_, exact=False, units=units)[:3]
    )
    alpha = peak.alpha
    final, _, final_b, loglik, cov, converged = fits(alpha[:, None], peak.b, exact=True)
    best = np.maximum(peak.objective, final[0])
    lo, hi = profile_interval(peak.points_f, peak.points_x, best)
    # 3. likelihood ratio of b_δ = 0, α profiled in both models (a Wald test at α̂ alone
    # ignores that α̂ was chosen to fit, and rejects too often under the null)
    lr_delta = np.maximum(2.0 * (best - _peak_value(reduced, xs)), 0.0)
    return (
        {
            "alpha": alpha,
            "alpha_lo": np.minimum(expit(lo), alpha),
            "alpha_hi": np.maximum(expit(hi), alpha),
            "b0": final_b[0, :, 0],
            "b_v": final_b[0, :, 1],
            "b_delta": final_b[0, :, 2],
            "b_delta_se": np.sqrt(np.maximum(cov[:, 2, 2], 0.0)),
            "b_delta_p": chi2.sf(lr_delta, 1),
            "loglik": loglik,
        },
        converged[0],
        _expansion(r, continued, observed, start, length, b, config),
    )


def _expansion(
    r: NDArray[np.float64],
    continued: NDArray[np.bool_],
    observed: NDArray[np.bool_],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    b_start: NDArray[np.float64],
    config: EngagementConfig,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The population fit's Laplace points: at each α of the grid, the maximum of the
    log-likelihood under the working prior N(0, 1/expansion_ridge) on b_V and b_δ, its
    coefficients and its penalised negative Hessian, as (u, G), (u, G, 3), (u, G, 6)."""
    u = start.shape[0]
    grid = alpha_grid(config.alpha_grid, config.alpha_min, config.alpha_max)
    hessian = np.full((grid.shape[0], u, 6), np.nan)
    objective, _, b, _, _, _ = engagement_fits(
        r, continued, observed, start, length, np.tile(grid, (u, 1)), b_start,
        v0=config.v0, ridge=config.expansion_ridge, iterations=config.iterations,
        tolerance=max(config.tolerance, PROFILE_TOLERANCE), exact=False, with_reduced=False,
        hessian=hessian,
    )  # fmt: skip
    return objective.T.copy(), b.transpose(1, 0, 2).copy(), hessian.transpose(1, 0, 2).copy()


# the search for each unit's profile maximum: at most PEAK_ROUNDS further fits, and a unit
# stops once its next step would move α by less than PEAK_STEP on the logit scale
PEAK_ROUNDS = 4
PEAK_STEP = 1e-3
_GOLDEN = 0.3819660112501051  # (3 − √5)/2, the golden-section fraction


@dataclass(frozen=True, kw_only=True)
class _Peak:
    alpha: NDArray[np.float64]  # (u,) the best α evaluated
    objective: NDArray[np.float64]  # (u,) the profile there
    b: NDArray[np.float64]  # (u, 3) the coefficients there
    points_x: NDArray[np.float64]  # (G + rounds, u) every evaluated logit α, in order
    points_f: NDArray[np.float64]  # (G + rounds, u) the profile at each


def _search_peak(
    profile: NDArray[np.float64],
    bs: NDArray[np.float64],
    grid: NDArray[np.float64],
    fit: Callable[
        [NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]], tuple[NDArray[Any], ...]
    ],
) -> _Peak:
    """Each unit's profile maximum, from the grid's best point, by successive parabolic
    interpolation within a bracket (golden-section steps where the parabola is no use; Brent
    1973, ch. 5), all units a step at a time.

    profile: (G, u) on `grid` (G,); bs: (G, u, 3) the coefficients at each grid point;
    fit(alphas (m,), b (m, 3), units (m,)): the profile fits of those units at those α.
    The bracket is the best grid point's neighbours (the grid's end where the best is an end
    point), so the maximum found is the profile's highest within it, never below the grid's.
    """
    n_grid, u = profile.shape
    units = np.arange(u)
    xs = logit(grid)
    g = np.argmax(profile, axis=0)
    gl, gr = np.maximum(g - 1, 0), np.minimum(g + 1, n_grid - 1)
    xl, xm, xr = xs[gl], xs[g], xs[gr]
    fl, fm, fr = profile[gl, units], profile[g, units], profile[gr, units]
    am = grid[g]
    bm = bs[g, units].copy()
    extra_x = np.tile(xm, (PEAK_ROUNDS, 1))
    extra_f = np.tile(fm, (PEAK_ROUNDS, 1))
    for round_no in range(PEAK_ROUNDS):
        # the vertex of the parabola through the bracket's three points
        dl, dr = xm - xl, xm - xr
        p = dl * dl * (fm - fr) - dr * dr * (fm - fl)
        q = dl * (fm - fr) - dr * (fm - fl)
        with np.errstate(divide="ignore", invalid="ignore"):
            vertex = xm - 0.5 * p / q
        interior = (xl < xm) & (xm < xr)
        usable = interior & (q != 0) & (vertex > xl) & (vertex < xr) & np.isfinite(vertex)
        # otherwise a golden-section step into the wider side (from an end point: inward)
        golden = np.where(xr - xm >= xm - xl, xm + _GOLDEN * (xr - xm), xm - _GOLDEN * (xm - xl))
        x_new = np.where(usable, vertex, golden)
        move = np.abs(x_new - xm)
        active = np.flatnonzero((move >= PEAK_STEP) & np.isfinite(x_new))
        if active.size == 0:
            break
        x_new = x_new[active]
        a_new = expit(x_new)
        f_new, _, b_new = fit(a_new, bm[active], active)
        f_new, b_new = f_new[0], b_new[0]
        extra_x[round_no, active] = x_new
        extra_f[round_no, active] = f_new
        # the new bracket: the better of the middle and the new point in the middle
        right = x_new > xm[active]
        up = f_new >= fm[active]
        xa, xla, xra, fma, fla, fra = (
            xm[active],
            xl[active],
            xr[active],
            fm[active],
            fl[active],
            fr[active],
        )
        xl[active] = np.where(up, np.where(right, xa, xla), np.where(right, xla, x_new))
        fl[active] = np.where(up, np.where(right, fma, fla), np.where(right, fla, f_new))
        xr[active] = np.where(up, np.where(right, xra, xa), np.where(right, x_new, xra))
        fr[active] = np.where(up, np.where(right, fra, fma), np.where(right, f_new, fra))
        xm[active] = np.where(up, x_new, xa)
        fm[active] = np.where(up, f_new, fma)
        am[active] = np.where(up, a_new, am[active])
        bm[active] = np.where(up[:, None], b_new, bm[active])
    order_x = np.concatenate([np.tile(xs[:, None], (1, u)), extra_x])
    order_f = np.concatenate([profile, extra_f])
    order = np.argsort(order_x, axis=0, kind="stable")
    return _Peak(
        alpha=am,
        objective=fm,
        b=bm,
        points_x=np.take_along_axis(order_x, order, axis=0),
        points_f=np.take_along_axis(order_f, order, axis=0),
    )


def _peak_value(profile: NDArray[np.float64], xs: NDArray[np.float64]) -> NDArray[np.float64]:
    """(u,) maximum of each grid profile, raised to its parabolic vertex where interior."""
    units = np.arange(profile.shape[1])
    g_best, x_peak = parabolic_peak(profile, xs)
    top = profile[g_best, units]
    inner = np.clip(g_best, 1, profile.shape[0] - 2)
    f_lo, f_mid, f_hi = profile[inner - 1, units], profile[inner, units], profile[inner + 1, units]
    h = float(xs[1] - xs[0])
    curvature = (f_lo - 2.0 * f_mid + f_hi) / (h * h)
    slope = (f_hi - f_lo) / (2.0 * h)
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = f_mid + slope * (x_peak - xs[inner]) + 0.5 * curvature * (x_peak - xs[inner]) ** 2
    return np.where(
        (g_best == inner) & (curvature < 0) & np.isfinite(vertex), np.maximum(vertex, top), top
    )


# ------------------------------------------------------------------ population (empirical Bayes)

_CHUNK = 2048  # units per block of the E-step (bounds the (units, G) working set)
# what the iBIC penalises: the prior's mean and variance of logit α, b₀, b_V and b_δ; of the
# null's b₀
POPULATION_PARAMETERS = 8
NULL_POPULATION_PARAMETERS = 2
# the prior's variances are kept at least (half a grid step)² for logit α and B_VAR_FLOOR
# for each b (per typical reward: far below any unit's posterior variance)
B_VAR_FLOOR = 0.05**2
_B0_PRECISION = 1e-6  # the fit's vanishing prior on b₀ (`models.kernels`)
# the population's mean and SD of each b stay within ±B_LIMIT per typical reward, far beyond
# any real effect (σ(±50) is certainty), so the prior's fit never wanders to where it overflows
B_LIMIT = 50.0


@dataclass(frozen=True, kw_only=True)
class PopulationConfig:
    """Hyperparameters of the engagement population fit.

    iterations, tolerance: cap on quasi-Newton iterations of the prior's fit and threshold on
                 the largest gradient component of the mean log marginal likelihood per unit
    min_population: fewer fitted units than this → a fixed broad prior instead of a fitted one
    default_sd:  the broad prior's SD of b₀, b_V and b_δ (its logit α: a quarter of the grid)
    """

    iterations: int = 200
    tolerance: float = 1e-7
    min_population: int = 10
    default_sd: float = 3.0


@dataclass(frozen=True, kw_only=True)
class EngagementGrids(UnitGrids):
    """The fitted units of one mechanic, as a partition hands them to the merge.

    key: (n,) the unit's user id; objective (n, G), b (n, G, 3), hessian (n, G, 6): the fit at
    each α of the grid (`EngagementFit.grid_objective`, `grid_b`, `grid_hessian`); n_obs,
    n_continued: (n,) observed decisions and continues (the null's sufficient statistics).
    """

    key: NDArray[np.object_]
    objective: NDArray[np.float64]
    b: NDArray[np.float64]
    hessian: NDArray[np.float64]
    n_obs: NDArray[np.int64]
    n_continued: NDArray[np.int64]

    @staticmethod
    def of(fit: EngagementFit, key: NDArray[np.object_]) -> EngagementGrids:
        """The fitted units of `fit`, with their keys `key` (u,)."""
        ok = fit.status == FITTED
        return EngagementGrids(
            key=np.asarray(key, dtype=object)[ok],
            objective=fit.grid_objective[ok],
            b=fit.grid_b[ok],
            hessian=fit.grid_hessian[ok],
            n_obs=fit.n_obs[ok],
            n_continued=fit.n_continued[ok],
        )


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


@dataclass(frozen=True, slots=True)
class _Posterior:
    """One block of units under one prior: log p(Dᵢ | prior) (n,), the posterior over the
    grid (n, G) as log weights, and at each grid α the Gaussian posterior of b: its means and
    variances, each (b₀, b_V, b_δ) an (n, G) array."""

    log_evidence: NDArray[np.float64]
    log_post: NDArray[np.float64]
    mean: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]
    var: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]


def _quadratics(grids: EngagementGrids, ridge: float) -> NDArray[np.float64]:
    """(10, n, G) each unit's log-likelihood at each grid α as a quadratic in b,
    ℓ(b) = c + bᵀg − ½bᵀLb: the parts that do not depend on the prior, L's entries
    (l₀₀, l₀₁, l₀₂, l₁₁, l₁₂, l₂₂), g = Hb̂ and c = f̂ − ½b̂ᵀHb̂ (`_posterior`)."""
    n, n_grid = grids.objective.shape
    out = np.empty((10, n, n_grid))
    for lo in range(0, n, _CHUNK):
        hi = min(lo + _CHUNK, n)
        h = grids.hessian[lo:hi]
        b = grids.b[lo:hi]
        for k in range(6):
            out[k, lo:hi] = h[..., k]
        out[0, lo:hi] -= _B0_PRECISION
        out[3, lo:hi] -= ridge
        out[5, lo:hi] -= ridge
        h00, h01, h02 = h[..., 0], h[..., 1], h[..., 2]
        h11, h12, h22 = h[..., 3], h[..., 4], h[..., 5]
        g0 = h00 * b[..., 0] + h01 * b[..., 1] + h02 * b[..., 2]
        g1 = h01 * b[..., 0] + h11 * b[..., 1] + h12 * b[..., 2]
        g2 = h02 * b[..., 0] + h12 * b[..., 1] + h22 * b[..., 2]
        out[6, lo:hi], out[7, lo:hi], out[8, lo:hi] = g0, g1, g2
        quad = b[..., 0] * g0 + b[..., 1] * g1 + b[..., 2] * g2
        out[9, lo:hi] = grids.objective[lo:hi] - 0.5 * quad
    return out


def _grid_log_prior(xs: NDArray[np.float64], mean: float, var: float) -> NDArray[np.float64]:
    """(G,) log weights of N(mean, var) discretised on the grid xs, summing to one."""
    log_w = -0.5 * (xs - mean) ** 2 / var
    return np.asarray(log_w - logsumexp(log_w), dtype=np.float64)


def _posterior(
    quad: NDArray[np.float64],
    log_w: NDArray[np.float64],
    mean: NDArray[np.float64],
    precision: NDArray[np.float64],
) -> _Posterior:
    """The Laplace approximation of a block of units (quad: (10, m, G), `_quadratics`) under
    the prior N(mean, diag 1/precision)
    on b = (b₀, b_V, b_δ) and the grid weights `log_w` on logit α.

    At each grid α the log-likelihood is the quadratic about the fit's maximum: with f̂, b̂ and
    H the penalised maximum, its coefficients and negative Hessian, and R the precision of the
    fit's own prior, ℓ(b) ≈ f̂ − ½(b − b̂)ᵀH(b − b̂) + ½bᵀRb = c + bᵀg − ½bᵀLb with L = H − R,
    g = Hb̂, c = f̂ − ½b̂ᵀHb̂. Under the prior N(μ, Λ⁻¹) the posterior of b is Gaussian with
    precision Q = L + Λ and mean m = Q⁻¹(g + Λμ), and

        log ∫ e^ℓ(b) N(b; μ, Λ⁻¹) db = c − ½μᵀΛμ + ½log|Λ| − ½log|Q| + ½mᵀQm.
    """
    q00 = quad[0] + precision[0]
    q11 = quad[3] + precision[1]
    q22 = quad[5] + precision[2]
    h01, h02, h12 = quad[1], quad[2], quad[4]
    # Q⁻¹ by cofactors
    c00 = q11 * q22 - h12 * h12
    c01 = h02 * h12 - h01 * q22
    c02 = h01 * h12 - h02 * q11
    c11 = q00 * q22 - h02 * h02
    c12 = h01 * h02 - q00 * h12
    c22 = q00 * q11 - h01 * h01
    det = q00 * c00 + h01 * c01 + h02 * c02
    r0 = quad[6] + precision[0] * mean[0]
    r1 = quad[7] + precision[1] * mean[1]
    r2 = quad[8] + precision[2] * mean[2]
    constant = -0.5 * float(np.sum(precision * mean * mean)) + 0.5 * float(
        np.sum(np.log(precision))
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / det
        m0 = (c00 * r0 + c01 * r1 + c02 * r2) * inv
        m1 = (c01 * r0 + c11 * r1 + c12 * r2) * inv
        m2 = (c02 * r0 + c12 * r1 + c22 * r2) * inv
        log_z = quad[9] + constant - 0.5 * np.log(det) + 0.5 * (m0 * r0 + m1 * r1 + m2 * r2)
    definite = (q00 > 0) & (c22 > 0) & (det > 0) & np.isfinite(log_z)
    log_joint = np.where(definite, log_z + log_w, -np.inf)
    top = np.max(log_joint, axis=1)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        log_evidence = top + np.log(np.sum(np.exp(log_joint - top[:, None]), axis=1))
    return _Posterior(
        log_evidence=log_evidence,
        log_post=log_joint - log_evidence[:, None],
        mean=(
            np.where(definite, m0, 0.0),
            np.where(definite, m1, 0.0),
            np.where(definite, m2, 0.0),
        ),
        var=(
            np.where(definite, c00 * inv, 1.0),
            np.where(definite, c11 * inv, 1.0),
            np.where(definite, c22 * inv, 1.0),
        ),
    )


def _marginal(
    phi: NDArray[np.float64], quad: NDArray[np.float64], xs: NDArray[np.float64]
) -> tuple[float, NDArray[np.float64]]:
    """The mean log marginal likelihood per unit, (1/N) Σᵢ log p(Dᵢ | μ, σ²), at
    φ = (μ (4), log σ² (4)) over (logit α, b₀, b_V, b_δ), and its gradient in φ.

    The gradient is the posterior expectation of the prior's score (Fisher's identity, exact
    for this approximation of the marginal likelihood: a finite sum over the grid of closed-form
    Gaussian integrals): with mᵢ, sᵢ each unit's posterior first and second moments,

        ∂/∂μ = Σᵢ (mᵢ − μ)/σ²,    ∂/∂log σ² = ½·Σᵢ (sᵢ − 2μmᵢ + μ²)/σ² − 1,

    for logit α less the same expectations under the grid's prior weights, which are
    normalised on the grid. The E-step of EM (Huys et al. 2011) gives the same moments; they
    come from one compiled pass over the units (`models.kernels.population_moments`).
    """
    mean, var = phi[:4], np.exp(phi[4:])
    log_w = _grid_log_prior(xs, float(mean[0]), float(var[0]))
    log_norm, first, second = population_moments(quad, log_w, xs, mean[1:], 1.0 / var[1:])
    m, s2 = first.mean(axis=0), second.mean(axis=0)
    w = np.exp(log_w)
    # the grid prior's own moments enter the score of logit α: its weights are normalised
    prior_first = np.array([w @ xs, mean[1], mean[2], mean[3]])
    prior_second = np.concatenate([[w @ (xs * xs)], mean[1:] ** 2 + var[1:]])
    grad_mean = (m - prior_first) / var
    grad_log_var = 0.5 * ((s2 - 2.0 * mean * m) - (prior_second - 2.0 * mean * prior_first)) / var
    return float(log_norm.mean()), np.concatenate([grad_mean, grad_log_var])


# the mixture quantiles stop, unit by unit, once a step moves less than this (per typical
# reward: far below any interval's width), after at most _QUANTILE_STEPS steps
_QUANTILE_TOLERANCE = 1e-8
_QUANTILE_STEPS = 60


def _mixture_quantiles(
    log_post: NDArray[np.float64],
    mean: NDArray[np.float64],
    var: NDArray[np.float64],
    qs: tuple[float, float],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Quantiles (n,) of the mixtures Σ_g p_g·N(mean_g, var_g), each (n, G): Newton steps on
    the distribution function inside a bracket that shrinks on its sign, bisecting where Newton
    would leave the bracket, each unit until its own step is below _QUANTILE_TOLERANCE."""
    p = np.exp(log_post)
    sd = np.sqrt(var)
    used = p > 0
    lo0 = np.min(np.where(used, mean - 10.0 * sd, np.inf), axis=1)
    hi0 = np.max(np.where(used, mean + 10.0 * sd, -np.inf), axis=1)
    centre = np.sum(p * mean, axis=1)
    spread = np.sqrt(np.maximum(np.sum(p * (var + mean * mean), axis=1) - centre**2, 0.0))
    density = p / (sd * math.sqrt(2.0 * math.pi))
    out = []
    for q in qs:
        lo, hi = lo0.copy(), hi0.copy()
        x = np.clip(centre + ndtri(q) * spread, lo, hi)
        active = np.arange(x.shape[0])
        for _ in range(_QUANTILE_STEPS):
            xa, la, ha = x[active], lo[active], hi[active]
            z = (xa[:, None] - mean[active]) / sd[active]
            cdf = np.sum(p[active] * ndtr(z), axis=1) - q
            pdf = np.sum(density[active] * np.exp(-0.5 * z * z), axis=1)
            la = np.where(cdf < 0, xa, la)
            ha = np.where(cdf > 0, xa, ha)
            with np.errstate(divide="ignore", invalid="ignore"):
                newton = xa - cdf / pdf
            inside = np.isfinite(newton) & (newton > la) & (newton < ha)
            nxt = np.where(inside, newton, 0.5 * (la + ha))
            nxt = np.where(cdf == 0, xa, nxt)
            x[active], lo[active], hi[active] = nxt, la, ha
            active = active[np.abs(nxt - xa) >= _QUANTILE_TOLERANCE]
            if not active.size:
                break
        out.append(x)
    return out[0], out[1]


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
