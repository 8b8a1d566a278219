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
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, logit
from scipy.stats import chi2

from models.expectation import filter_rows, rescorla_wagner
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


TILE = 16  # rows per tile: each unit's padded row is a whole number of tiles
COARSE_ITERATIONS = 2  # at most this many single-precision Newton steps before double
COARSE_TOLERANCE = 1e-4  # … while the step is larger than this
# the α profile's fits stop at a smaller step than this: their objective comes from the
# quadratic model at the last step, off by O(n·|x·step|³) ≈ 1e-13 at most
PROFILE_TOLERANCE = 1e-5


@dataclass(frozen=True, slots=True)
class _Design:
    """The logistic design of every unit at one α, in tiles of `TILE` rows (t, ·, TILE).

    Rows are the padded layout's; w ∈ {0, 1} marks the rows in the likelihood (censored
    decisions and padding are 0) and s = 2c − 1 the outcome's sign. With q = σ(s·η) the
    probability of the observed outcome, the log-likelihood is Σ w·log q, its gradient
    Σ s·w·(1 − q)·x and its negative Hessian Σ w·q(1 − q)·x·xᵀ, x = (1, x₁, x₂) — so:

    signed:  (t, 3, TILE) s·w·(1, x₁, x₂): η·s, and the gradient's weights
    moments: (t, 6, TILE) w·(1, x₁, x₁², x₂, x₁x₂, x₂²) in single precision: the Hessian's
             weights for Newton steps, which need it only roughly (a 10⁻⁷ error in the
             Hessian moves a step by 10⁻⁷ of itself). The model without x₂ uses the first 3
    weight:  (t, TILE) w

    A double-precision design (likelihood, gradient, the reported covariance) and its
    single-precision copy (first Newton steps) share the moments.
    """

    signed: NDArray[np.floating[Any]]
    moments: NDArray[np.float32]
    weight: NDArray[np.floating[Any]]

    @classmethod
    def allocate(cls, y: NDArray[np.float64], weight: NDArray[np.float64]) -> _Design:
        """Buffers for padded rows with outcomes y and weights (0/1); covariates unset."""
        tiles = y.shape[0] // TILE
        w = weight.reshape(tiles, TILE)
        signed = np.empty((tiles, 3, TILE))
        np.multiply(2.0 * y.reshape(tiles, TILE) - 1.0, w, out=signed[:, 0])
        moments = np.empty((tiles, 6, TILE), dtype=np.float32)
        moments[:, 0] = w
        return cls(signed=signed, moments=moments, weight=w)

    def single(self) -> _Design:
        """The single-precision copy's buffers (signs and weights filled in, moments shared)."""
        signed = np.empty(self.signed.shape, dtype=np.float32)
        signed[:, 0] = self.signed[:, 0]
        return _Design(signed=signed, moments=self.moments, weight=self.weight.astype(np.float32))

    def set(self, x1: NDArray[np.float64], x2: NDArray[np.float64], single: _Design) -> None:
        """Fill in the covariates (padded rows, (n,) each), here and in the `single` copy."""
        tiles = self.weight.shape[0]
        s_w = self.signed[:, 0]
        np.multiply(x1.reshape(tiles, TILE), s_w, out=self.signed[:, 1])
        np.multiply(x2.reshape(tiles, TILE), s_w, out=self.signed[:, 2])
        with np.errstate(over="ignore"):
            np.copyto(single.signed[:, 1:], self.signed[:, 1:], casting="same_kind")
            # s·w·x times s·w is w·x, exactly
            m = self.moments
            np.multiply(single.signed[:, 1], single.signed[:, 0], out=m[:, 1])
            np.multiply(single.signed[:, 2], single.signed[:, 0], out=m[:, 3])
            np.multiply(m[:, 1], m[:, 1], out=m[:, 2])
            np.multiply(m[:, 1], m[:, 3], out=m[:, 4])
            np.multiply(m[:, 3], m[:, 3], out=m[:, 5])


@dataclass(frozen=True, slots=True)
class _Logistic:
    b: NDArray[np.float64]  # (u, m)
    objective: NDArray[np.float64]  # (u,) penalised log-likelihood
    loglik: NDArray[np.float64]  # (u,) unpenalised (exact fits only; else NaN)
    cov: NDArray[np.float64]  # (u, m, m) inverse penalised negative Hessian (exact fits only)


_HESSIAN_CELLS = {2: ((0, 0, 0), (0, 1, 1), (1, 1, 2)), 3: ((0, 0, 0), (0, 1, 1), (1, 1, 2),
                  (0, 2, 3), (1, 2, 4), (2, 2, 5))}  # fmt: skip  # (i, j, moment)


def _sums(
    design: _Design, m: int, tiles: Segments, b: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """At coefficients b (u, m): q (t, TILE), and per unit the gradient (u, m) and the
    negative Hessian (u, m, m) of the log-likelihood (without the prior)."""
    signed = design.signed[:, :m]
    moments = design.moments[:, : 3 if m == 2 else 6]
    q = np.einsum("tjk,tj->tk", signed, b[tiles.index])
    q = expit(q, out=q)
    rest = q.dtype.type(1.0) - q
    # the Hessian's weights in the moments' precision (single suffices for a Newton step)
    weight = (rest * q).astype(moments.dtype, copy=False)
    per_tile = np.concatenate(
        [np.einsum("tjk,tk->tj", signed, rest), np.einsum("tjk,tk->tj", moments, weight)],
        axis=1,
    )
    per_unit = np.add.reduceat(per_tile, tiles.start, axis=0)
    h = np.empty((tiles.count, m, m), dtype=per_unit.dtype)
    for i, j, k in _HESSIAN_CELLS[m]:
        h[:, i, j] = h[:, j, i] = per_unit[:, m + k]
    return q, per_unit[:, :m], h


def _loglik(
    weight: NDArray[np.floating[Any]], q: NDArray[np.float64], tiles: Segments
) -> NDArray[np.float64]:
    """(u,) Σ w·log q per unit."""
    with np.errstate(divide="ignore"):
        logq = np.log(q)
    return np.asarray(np.add.reduceat(np.einsum("tk,tk->t", weight, logq), tiles.start))


def _take(design: _Design, rows: NDArray[np.bool_]) -> _Design:
    return _Design(
        signed=design.signed[rows], moments=design.moments[rows], weight=design.weight[rows]
    )


def _newton(
    design: _Design,
    m: int,
    tiles: Segments,
    b: NDArray[np.float64],
    config: EngagementConfig,
    *,
    exact: bool,
    coarse: _Design | None = None,
) -> _Logistic:
    """Newton-Raphson for σ(b·x) in every unit at once, x = (1, x₁, x₂)[:m], with the prior.

    Units stop when their largest Newton step is below the tolerance; once a fifth of them
    have, the others' tiles are gathered into a compact design, so the few slow, nearly
    separable users do not make every user pay for their extra iterations. For the α profile
    (`exact=False`) the objective at b + step comes from the quadratic model at b,
    ℓ(b) + ½·gᵀ·step, exact to O(|step|³) — below the rounding of the sum — which saves a pass;
    with `exact=True` it is evaluated, with the log-likelihood and the covariance, at the
    final coefficients.
    """
    ridge = np.array([1e-6, config.ridge, config.ridge])[:m]
    b = np.array(b[:, :m], dtype=np.float64, copy=True)
    u = tiles.count
    objective = np.full(u, np.nan)
    tolerance = config.tolerance if exact else max(config.tolerance, PROFILE_TOLERANCE)
    if coarse is not None:
        # single-precision steps while they are large (half the memory traffic, faster
        # exponentials); double precision finishes, so the optimum is not changed
        moving = np.ones(u, dtype=bool)
        for _ in range(COARSE_ITERATIONS):
            _, grad, h = _sums(coarse, m, tiles, b.astype(np.float32))
            grad = grad.astype(np.float64) - ridge * b
            h = h.astype(np.float64)
            h[:, range(m), range(m)] += ridge
            with np.errstate(invalid="ignore"):
                step = np.clip(np.linalg.solve(h, grad[:, :, None])[:, :, 0], -5.0, 5.0)
            step[~np.isfinite(step)] = 0.0  # single precision overflowed: leave it to double
            b[moving] += step[moving]
            moving &= np.abs(step).max(axis=1) >= COARSE_TOLERANCE
            if moving.sum() < 0.2 * u:
                break
    units = np.arange(u)  # the units in `sub`, in order
    live = np.ones(u, dtype=bool)  # which of them still iterate
    sub, sub_tiles = design, tiles
    for _ in range(config.iterations):
        if not live.any():
            break
        at = np.flatnonzero(live)
        q, grad, h = _sums(sub, m, sub_tiles, b[units])
        grad, h = grad[at], h[at]
        bl = b[units[at]]
        grad -= ridge * bl
        h[:, range(m), range(m)] += ridge
        step = np.clip(np.linalg.solve(h, grad[:, :, None])[:, :, 0], -5.0, 5.0)
        b[units[at]] = bl + step
        done = np.abs(step).max(axis=1) < tolerance
        if not done.any():
            continue
        if not exact:
            finished = np.zeros(units.shape[0], dtype=bool)
            finished[at[done]] = True
            rows = sub_tiles.rows_of(finished)
            ll = _loglik(sub.weight[rows], q[rows], sub_tiles.take(finished))
            bd = bl[done]
            objective[units[at[done]]] = (
                ll - 0.5 * (ridge * bd * bd).sum(axis=1) + 0.5 * (grad[done] * step[done]).sum(1)
            )
        live[at[done]] = False
        if live.any() and live.sum() < 0.8 * units.shape[0]:
            sub = _take(sub, sub_tiles.rows_of(live))
            sub_tiles = sub_tiles.take(live)
            units = units[live]
            live = np.ones(units.shape[0], dtype=bool)
    cov = np.full((u, m, m), np.nan)
    loglik = np.full(u, np.nan)
    rest = np.ones(u, dtype=bool) if exact else np.isnan(objective)
    if rest.any():
        part_tiles = tiles.take(rest)
        part = _take(design, tiles.rows_of(rest))
        br = b[rest]
        q, _, _ = _sums(part, m, part_tiles, br)
        ll = _loglik(part.weight, q, part_tiles)
        objective[rest] = ll - 0.5 * (ridge * br * br).sum(axis=1)
        if exact:
            # the reported covariance from the Hessian in double precision: Σ w·q(1 − q)·x·xᵀ,
            # with (s·w·xᵢ)(s·w·xⱼ) = w·xᵢ·xⱼ exactly
            signed = part.signed[:, :m]
            weighted = signed * ((1.0 - q) * q)[:, None, :]
            h = np.add.reduceat(
                np.einsum("tik,tjk->tij", signed, weighted), part_tiles.start, axis=0
            )
            h[:, range(m), range(m)] += ridge
            cov[rest] = np.linalg.inv(h)
            loglik[rest] = ll
    return _Logistic(b=b, objective=objective, loglik=loglik, cov=cov)


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
        # the fit runs on a padded layout: units as zero-padded rows (weight 0 in the padding)
        # of whole tiles, so each unit's expectations and sums come from its own rows only,
        # bit for bit
        layout = RowLayout.of(segments.take(fit), multiple=TILE)
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


def _covariates(
    r: NDArray[np.float64], v_post: NDArray[np.float64], first: NDArray[np.bool_], v0: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(Vₜ₊₁, δₜ) from the expectations after each response (padded rows)."""
    v_pre = np.empty_like(v_post)
    v_pre[1:] = v_post[:-1]
    v_pre[first] = v0
    return v_post, np.subtract(r, v_pre, out=v_pre)


def _fit_units(
    r: NDArray[np.float64],
    y: NDArray[np.float64],
    weight: NDArray[np.float64],
    layout: RowLayout,
    b0_start: NDArray[np.float64],
    config: EngagementConfig,
) -> dict[str, NDArray[np.float64]]:
    """Fit every unit; arrays are in `layout`'s padded order (whole tiles per unit), results
    per padded row."""
    seg = layout.padded
    tiles = Segments.from_lengths(seg.length // TILE)
    first = seg.first
    design = _Design.allocate(y, weight)
    coarse = design.single()
    grid = alpha_grid(config.alpha_grid, config.alpha_min, config.alpha_max)
    xs = logit(grid)
    n_grid = grid.shape[0]
    profile = np.empty((n_grid, seg.count))
    reduced = np.empty((n_grid, seg.count))  # the model without b_δ, for its likelihood ratio
    bs = np.empty((n_grid, seg.count, 3))
    b = np.zeros((seg.count, 3))
    b[:, 0] = b0_start
    b_red = b_red_prev = b[:, :2].copy()
    for g, a in enumerate(grid):
        v_post = filter_rows(r, layout, float(a), v0=config.v0)
        design.set(*_covariates(r, v_post, first, config.v0), coarse)
        # warm starts: the coefficients extrapolated from the two previous grid points
        start = 2.0 * bs[g - 1] - bs[g - 2] if g >= 2 else b
        fit = _newton(design, 3, tiles, start, config, exact=False, coarse=coarse)
        profile[g] = fit.objective
        bs[g] = b = fit.b
        start_red = 2.0 * b_red - b_red_prev if g >= 2 else b_red
        fit_red = _newton(design, 2, tiles, start_red, config, exact=False, coarse=coarse)
        reduced[g] = fit_red.objective
        b_red_prev, b_red = b_red, fit_red.b

    units = np.arange(seg.count)
    g_best, x_ref = parabolic_peak(profile, xs)
    best_obj = profile[g_best, units]
    a_ref = expit(x_ref)
    e = rescorla_wagner(r, seg, a_ref, v0=config.v0)
    design.set(e.v_post, e.delta, coarse)
    refined = _newton(design, 3, tiles, bs[g_best, units], config, exact=True)
    better = refined.objective > best_obj
    alpha = np.where(better, a_ref, grid[g_best])
    final_obj = np.where(better, refined.objective, best_obj)
    # the reported fit is re-evaluated where the grid point won, to carry its covariance
    e = rescorla_wagner(r, seg, alpha, v0=config.v0)
    design.set(e.v_post, e.delta, coarse)
    final = _newton(
        design,
        3,
        tiles,
        np.where(better[:, None], refined.b, bs[g_best, units]),
        config,
        exact=True,
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
