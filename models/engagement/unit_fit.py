"""Per-user engagement model: does reward prediction error drive continuing a session?

After each response t the user continues the session (cₜ = 1) or stops (cₜ = 0):

    P(cₜ = 1) = σ(b₀ + b_V·Vₜ₊₁ + b_δ·δₜ)

with Vₜ₊₁ and δₜ from Rescorla-Wagner at the user's learning rate α (models.expectation), on
rewards divided by the unit's scale s (root mean square of its non-zero rewards), so b_V and b_δ
are per typical reward and comparable across mechanics. b_δ < 0 with a significant test is loss
chasing (continuing after disappointments; the gambler's 'chase', Lesieur 1984); b_δ > 0 is
RPE-driven engagement — our operationalisation (Rutledge et al. 2014 show momentary happiness,
not continuation, tracking recent prediction errors).

Fitting, unit by unit in one compiled pass (`engagement_fits`; maximum
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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, logit
from scipy.stats import chi2

from models.engagement.newton import engagement_fits
from models.engagement.peak import _peak_value, _search_peak
from models.profile import (
    alpha_grid,
    profile_interval,
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
