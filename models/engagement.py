"""Per-user engagement model: does reward prediction error drive continuing a session?

DESIGN §4.2. After each response t the user continues the session (cₜ = 1) or stops (cₜ = 0):

    P(cₜ = 1) = σ(b₀ + b_V·Vₜ₊₁ + b_δ·δₜ)

with Vₜ₊₁ and δₜ from Rescorla-Wagner at the user's learning rate α (models.expectation), on
rewards divided by the unit's scale s (root mean square of its non-zero rewards), so b_V and b_δ
are per typical reward and comparable across mechanics. b_δ < 0 with a significant test is loss
chasing (continuing after disappointments; Lesieur 1984, Braverman & Shaffer 2010); b_δ > 0 is
RPE-driven engagement (Rutledge et al. 2014).

Fitting, unit by unit in one compiled pass (`models.kernels.engagement_fits`; maximum
likelihood, Wilson & Collins 2019):
1. profile likelihood over a grid of α shared by all units: at each grid α the unit's
   expectations come from Rescorla-Wagner over its rows, then (b₀, b_V, b_δ) are fitted by
   Newton-Raphson, warm-started from the neighbouring grid points; a weak Gaussian prior (ridge)
   keeps separable cases finite;
2. each unit's α is refined by a parabolic step on its profile (logit scale) and re-fitted at
   its own α;
3. the 95 % interval is the profile-likelihood interval {α : ℓ(α) ≥ ℓ̂ − χ²₁(0.95)/2}, the hull
   of the grid points inside it with linear interpolation to the crossings (Venzon & Moolgavkar
   1988; Pawitan 2001 §2.6). An interval that runs to the end of the grid means α is not
   identified on that side — reported as such, never hidden (Wilson & Collins 2019, rule 6);
4. the likelihood-ratio test and AIC compare against the intercept-only null P(c) = σ(b₀).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, logit
from scipy.stats import chi2

from models.kernels import engagement_fits
from models.profile import alpha_grid, parabolic_peak, profile_interval
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
    iterations:  maximum Newton iterations per grid point
    tolerance:   convergence threshold on the largest Newton step
    """

    alpha_grid: int = 25
    alpha_min: float = 0.01
    alpha_max: float = 0.99
    v0: float = 0.0
    ridge: float = 0.01
    iterations: int = 50
    tolerance: float = 1e-7


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


def reward_scale(reward: NDArray[np.float64], segments: Segments) -> NDArray[np.float64]:
    """(u,) root mean square of each unit's non-zero rewards; 0 when it has none."""
    nonzero = reward != 0.0
    count = segments.sum(nonzero)
    sq = segments.sum(reward * reward)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.sqrt(sq / np.maximum(count, 1.0)), 0.0)


# the α profile's fits stop at a larger step than the reported fit's: a log-likelihood taken
# within 1e-5 of its maximum is off by O(n·1e-10), far below what moves the profile
PROFILE_TOLERANCE = 1e-5


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
        res = _fit_units(
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
        lr = np.maximum(2.0 * (out["loglik"][fit] - ll_null[fit]), 0.0)
        out["lr_stat"][fit] = lr
        out["p_value"][fit] = chi2.sf(lr, NULL_DF)
        out["aic_delta"][fit] = 2.0 * NULL_DF - lr

    return EngagementFit(
        status=status,
        n_obs=n_obs,
        scale=scale,
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
) -> dict[str, NDArray[np.float64]]:
    """Fit the units whose rows are `start`/`length` of the (n,) arrays; results (u,)."""
    u = start.shape[0]
    grid = alpha_grid(config.alpha_grid, config.alpha_min, config.alpha_max)
    xs = logit(grid)

    def fits(
        alphas: NDArray[np.float64], b: NDArray[np.float64], *, exact: bool
    ) -> tuple[NDArray[np.float64], ...]:
        return engagement_fits(
            r, continued, observed, start, length, alphas, b,
            v0=config.v0, ridge=config.ridge, iterations=config.iterations,
            tolerance=config.tolerance if exact else max(config.tolerance, PROFILE_TOLERANCE),
            exact=exact, with_reduced=not exact,
        )  # fmt: skip

    # 1. the profile over the grid, and the model without b_δ at each grid point
    b = np.zeros((u, 3))
    b[:, 0] = b0_start
    profile, reduced, bs, _, _ = fits(np.tile(grid, (u, 1)), b, exact=False)

    # 2. each unit refined at the vertex of a parabola through its best grid point
    units = np.arange(u)
    g_best, x_ref = parabolic_peak(profile, xs)
    best_obj = profile[g_best, units]
    b_best = bs[g_best, units]
    a_ref = expit(x_ref)
    refined, _, refined_b, _, _ = fits(a_ref[:, None], b_best, exact=True)
    better = refined[0] > best_obj
    alpha = np.where(better, a_ref, grid[g_best])
    # the reported fit is re-evaluated where the grid point won, to carry its covariance
    final, _, final_b, loglik, cov = fits(
        alpha[:, None], np.where(better[:, None], refined_b[0], b_best), exact=True
    )

    best = np.maximum(np.where(better, refined[0], best_obj), final[0])
    lo, hi = profile_interval(profile, xs, best)
    # 3. likelihood ratio of b_δ = 0, α profiled in both models (a Wald test at α̂ alone
    # ignores that α̂ was chosen to fit, and rejects too often under the null)
    lr_delta = np.maximum(2.0 * (best - _peak_value(reduced, xs)), 0.0)
    return {
        "alpha": alpha,
        "alpha_lo": np.minimum(expit(lo), alpha),
        "alpha_hi": np.maximum(expit(hi), alpha),
        "b0": final_b[0, :, 0],
        "b_v": final_b[0, :, 1],
        "b_delta": final_b[0, :, 2],
        "b_delta_se": np.sqrt(np.maximum(cov[:, 2, 2], 0.0)),
        "b_delta_p": chi2.sf(lr_delta, 1),
        "loglik": loglik,
    }


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
