"""Per-user engagement model: does reward prediction error drive continuing a session?

DESIGN §4.2. After each response t the user continues the session (cₜ = 1) or stops (cₜ = 0):

    P(cₜ = 1) = σ(b₀ + b_V·Vₜ₊₁ + b_δ·δₜ)

with Vₜ₊₁ and δₜ from Rescorla-Wagner at the user's learning rate α (models.expectation), on
rewards divided by the unit's scale s (root mean square of its non-zero rewards), so b_V and b_δ
are per typical reward and comparable across mechanics. b_δ < 0 with a significant test is loss
chasing (continuing after disappointments; Lesieur 1984, Braverman & Shaffer 2010); b_δ > 0 is
RPE-driven engagement (Rutledge et al. 2014).

Fitting, for all units at once (maximum likelihood, Wilson & Collins 2019):
1. profile likelihood over a grid of α shared by all units: for each grid α the expectations of
   every unit come from one `lfilter` pass, then (b₀, b_V, b_δ) are fitted per unit by a Newton
   iteration whose gradients and Hessians are segment sums (`np.add.reduceat`), warm-started
   from the neighbouring grid point; a weak Gaussian prior (ridge) keeps separable cases finite;
2. each unit's α is refined by a parabolic step on its profile (logit scale) and re-fitted at
   its own α (prefix-scan expectations);
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

from models.expectation import Expectation, filter_rows, rescorla_wagner
from models.profile import alpha_grid, parabolic_peak, profile_interval
from models.segments import RowLayout, Segments

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


@dataclass(frozen=True, slots=True)
class _Logistic:
    b: NDArray[np.float64]  # (u, 3)
    loglik: NDArray[np.float64]  # (u,) unpenalised
    objective: NDArray[np.float64]  # (u,) penalised
    cov: NDArray[np.float64]  # (u, 3, 3) inverse of the penalised negative Hessian


def _hessian(
    wt: NDArray[np.float64],
    x1: NDArray[np.float64],
    x2: NDArray[np.float64],
    seg: Segments,
    ridge: NDArray[np.float64],
) -> NDArray[np.float64]:
    """(u, 3, 3) penalised negative Hessian Σ w·xxᵀ + diag(ridge) per segment, x = (1, x₁, x₂)."""
    s = seg.sum
    w1, w2 = wt * x1, wt * x2
    h = np.empty((seg.count, 3, 3))
    h[:, 0, 0] = s(wt)
    h[:, 0, 1] = h[:, 1, 0] = s(w1)
    h[:, 0, 2] = h[:, 2, 0] = s(w2)
    h[:, 1, 1] = s(w1 * x1)
    h[:, 1, 2] = h[:, 2, 1] = s(w1 * x2)
    h[:, 2, 2] = s(w2 * x2)
    return h + np.diag(ridge)


def _fit_logistic(
    x1: NDArray[np.float64],
    x2: NDArray[np.float64],
    y: NDArray[np.float64],
    weight: NDArray[np.float64],
    seg: Segments,
    b: NDArray[np.float64],
    config: EngagementConfig,
) -> _Logistic:
    """Newton-Raphson for σ(b₀ + b₁x₁ + b₂x₂) in every segment at once (rows weighted 0/1).

    Each iteration works only on the segments that have not converged yet (their rows are
    gathered into a compact array), so the few slow, nearly separable users do not make
    every user pay for their extra iterations.
    """
    ridge = np.array([1e-6, config.ridge, config.ridge])
    b = b.copy()
    active = np.arange(seg.count)
    sx1, sx2, sy, sw, sseg = x1, x2, y, weight, seg
    for _ in range(config.iterations):
        if active.size == 0:
            break
        ba = b[active]
        eta = (
            sseg.broadcast(ba[:, 0])
            + sseg.broadcast(ba[:, 1]) * sx1
            + sseg.broadcast(ba[:, 2]) * sx2
        )
        p = expit(eta)
        res = (sy - p) * sw
        grad = (
            np.stack([sseg.sum(res), sseg.sum(res * sx1), sseg.sum(res * sx2)], axis=1) - ridge * ba
        )
        h = _hessian(p * (1.0 - p) * sw, sx1, sx2, sseg, ridge)
        step = np.clip(np.linalg.solve(h, grad[:, :, None])[:, :, 0], -5.0, 5.0)
        b[active] = ba + step
        moving = np.abs(step).max(axis=1) >= config.tolerance
        if not moving.all():
            active = active[moving]
            rows = sseg.rows_of(moving)
            sx1, sx2, sy, sw = sx1[rows], sx2[rows], sy[rows], sw[rows]
            sseg = sseg.take(moving)
    eta = seg.broadcast(b[:, 0]) + seg.broadcast(b[:, 1]) * x1 + seg.broadcast(b[:, 2]) * x2
    loglik = seg.sum(weight * (y * eta - np.logaddexp(0.0, eta)))
    p = expit(eta)
    h = _hessian(p * (1.0 - p) * weight, x1, x2, seg, ridge)
    objective = loglik - 0.5 * (ridge * b * b).sum(axis=1)
    return _Logistic(
        b=b, loglik=loglik, objective=objective, cov=np.asarray(np.linalg.inv(h), dtype=np.float64)
    )


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
        rows = segments.rows_of(fit)
        # the fit runs on a padded layout: units as zero-padded rows (weight 0 in the padding),
        # so each unit's expectations come from its own rewards only, bit for bit
        layout = RowLayout.of(segments.take(fit))
        res = _fit_units(
            layout.pad(reward[rows] / segments.broadcast(scale)[rows]),
            layout.pad(continued[rows].astype(np.float64)),
            layout.pad(observed[rows].astype(np.float64)),
            layout,
            logit(np.clip(p_null[fit], 1e-6, 1 - 1e-6))[layout.unit_order],
            config,
        )
        res = {key: layout.units_back(values) for key, values in res.items()}
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


def _expectation(r: NDArray[np.float64], layout: RowLayout, alpha: float, v0: float) -> Expectation:
    v_post = filter_rows(r, layout, alpha, v0=v0)
    v_pre = np.empty_like(v_post)
    v_pre[1:] = v_post[:-1]
    v_pre[layout.padded.first] = v0
    return Expectation(v_pre=v_pre, delta=r - v_pre, v_post=v_post)


def _fit_units(
    r: NDArray[np.float64],
    y: NDArray[np.float64],
    weight: NDArray[np.float64],
    layout: RowLayout,
    b0_start: NDArray[np.float64],
    config: EngagementConfig,
) -> dict[str, NDArray[np.float64]]:
    """Fit every unit; arrays are in `layout`'s padded order, results per padded row."""
    seg = layout.padded
    grid = alpha_grid(config.alpha_grid, config.alpha_min, config.alpha_max)
    xs = logit(grid)
    n_grid = grid.shape[0]
    profile = np.empty((n_grid, seg.count))
    reduced = np.empty((n_grid, seg.count))  # the model without b_δ, for its likelihood ratio
    bs = np.empty((n_grid, seg.count, 3))
    b = np.zeros((seg.count, 3))
    b[:, 0] = b0_start
    b_red = b.copy()
    no_delta = np.zeros_like(r)
    for g, a in enumerate(grid):
        e = _expectation(r, layout, float(a), config.v0)
        fit = _fit_logistic(e.v_post, e.delta, y, weight, seg, b, config)
        profile[g] = fit.objective
        bs[g] = fit.b
        b = fit.b
        fit_red = _fit_logistic(e.v_post, no_delta, y, weight, seg, b_red, config)
        reduced[g] = fit_red.objective
        b_red = fit_red.b

    units = np.arange(seg.count)
    g_best, x_ref = parabolic_peak(profile, xs)
    best_obj = profile[g_best, units]
    a_ref = expit(x_ref)
    e = rescorla_wagner(r, seg, a_ref, v0=config.v0)
    refined = _fit_logistic(e.v_post, e.delta, y, weight, seg, bs[g_best, units], config)
    better = refined.objective > best_obj
    alpha = np.where(better, a_ref, grid[g_best])
    final_obj = np.where(better, refined.objective, best_obj)
    # the reported fit is re-evaluated where the grid point won, to carry its covariance
    e = rescorla_wagner(r, seg, alpha, v0=config.v0)
    final = _fit_logistic(
        e.v_post,
        e.delta,
        y,
        weight,
        seg,
        np.where(better[:, None], refined.b, bs[g_best, units]),
        config,
    )

    best = np.maximum(final_obj, final.objective)
    lo, hi = profile_interval(profile, xs, best)
    # likelihood ratio of b_δ = 0, α profiled in both models (a Wald test at α̂ alone ignores
    # that α̂ was chosen to fit, and rejects too often under the null)
    lr_delta = np.maximum(2.0 * (best - _peak_value(reduced, xs)), 0.0)
    return {
        "alpha": alpha,
        "alpha_lo": np.minimum(expit(lo), alpha),
        "alpha_hi": np.maximum(expit(hi), alpha),
        "b0": final.b[:, 0],
        "b_v": final.b[:, 1],
        "b_delta": final.b[:, 2],
        "b_delta_se": np.sqrt(np.maximum(final.cov[:, 2, 2], 0.0)),
        "b_delta_p": chi2.sf(lr_delta, 1),
        "loglik": final.loglik,
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
