"""The choice model fitted unit by unit.

Maximum likelihood for all units at once (Wilson & Collins 2019): a profile over a logit grid
of α with β maximised per unit by a safeguarded Newton iteration (the log-likelihood is
concave in β), then a joint (α, β) Newton refinement per unit with exact first and second
derivatives — ∂Q/∂α and ∂²Q/∂α² obey linear recurrences of their own,

    Q'ₙ = (1−α)·Q'ₙ₋₁ + (rₙ − Qₙ₋₁),    Q''ₙ = (1−α)·Q''ₙ₋₁ − 2·Q'ₙ₋₁,

run with the per-unit prefix scan — with Levenberg-Marquardt damping inside the bounds
0 ≤ α ≤ 1, 0 ≤ β ≤ beta_max. The α interval is the profile-likelihood interval. These per-unit
maximum-likelihood fits are noisy at a few hundred trials, and β runs to its bound whenever a
unit's choices are nearly deterministic.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, logit, xlogy

from models.choice.config import FITTED, INSUFFICIENT_DATA, NO_VARIATION, ChoiceConfig, ChoiceFit
from models.choice.likelihood import _best_beta, _Layout, _layout, _over_options, _q_shared, _refine
from models.profile import (
    alpha_grid,
    parabolic_peak,
    profile_interval,
)
from models.segments import Segments


def grid_axes(config: ChoiceConfig) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The population fit's grid: (G,) logit α and (G,) log β, each evenly spaced."""
    n = config.grid_points
    return (
        np.linspace(float(logit(config.alpha_min)), float(logit(config.alpha_max)), n),
        np.linspace(math.log(config.beta_min), math.log(config.beta_max), n),
    )


def _grid_loglik(
    r_rows: NDArray[np.float64], lay: _Layout, config: ChoiceConfig
) -> NDArray[np.float64]:
    """(u, G, G) log-likelihood of every unit at every point of the `grid_axes` grid.

    With q̄ the largest available value, log Σₖ exp(β·Q_k) = β·q̄ + log Σₖ exp(β·(Q_k − q̄)),
    so each β costs K exponentials of non-positive numbers per trial.
    """
    seg = lay.seg
    xa, xb = grid_axes(config)
    out = np.empty((seg.count, xa.shape[0], xb.shape[0]))
    for i, a in enumerate(expit(xa)):
        q = _q_shared(r_rows, lay, float(a), config.v0)
        q_av = np.where(lay.avail, q, -np.inf)
        q_top = np.maximum.reduce(q_av, axis=0)
        gap = q_av - q_top  # ≤ 0, −∞ for options outside the choice set
        chosen = _over_options(q * lay.onehot) - q_top
        for j, b in enumerate(np.exp(xb)):
            total = _over_options(np.exp(b * gap))
            out[:, i, j] = seg.sum(b * chosen - np.log(total))
    return out


def fit_choice(
    choice: NDArray[np.int64],
    reward: NDArray[np.float64],
    segments: Segments,
    *,
    n_available: NDArray[np.int64],
    min_choices: int,
    config: ChoiceConfig,
) -> ChoiceFit:
    """Fit α and β for every unit (segment of choice trials in time order).

    choice: (m,) chosen option, coded 0..n_available[u]−1 within each unit; reward: (m,)
    outcome of the chosen option, in the unit's reward scale; n_available: (u,) size of each
    unit's choice set (the softmax runs over it). Units with fewer than `min_choices` trials
    are INSUFFICIENT_DATA; units with a single option are NO_VARIATION (β is not identified).
    """
    u = segments.count
    n = segments.length.astype(np.int64)
    n_options = int(n_available.max()) if u else 1
    status = np.full(u, FITTED, dtype=np.int8)
    status[n_available < 2] = NO_VARIATION
    status[n < min_choices] = INSUFFICIENT_DATA
    fit = status == FITTED
    nan = np.full(u, np.nan)
    alpha, lo_a, hi_a, beta, ll = nan.copy(), nan.copy(), nan.copy(), nan.copy(), nan.copy()
    pref = nan.copy()
    grid_rel = np.full((u, config.grid_points, config.grid_points), np.nan, dtype=np.float32)
    if fit.any():
        rows = segments.rows_of(fit)
        seg = segments.take(fit)
        lay = _layout(choice[rows], seg, n_options, n_available[fit])
        r = reward[rows]
        r_rows = lay.rows.pad(r[lay.perm])
        grid = alpha_grid(config.alpha_grid, config.alpha_min, config.alpha_max)
        xs = logit(grid)
        profile = np.empty((grid.shape[0], seg.count))
        betas = np.empty((grid.shape[0], seg.count))
        b = np.ones(seg.count)
        for g, a in enumerate(grid):
            q = _q_shared(r_rows, lay, float(a), config.v0)
            b, profile[g] = _best_beta(q, lay, b, config)
            betas[g] = b
        units = np.arange(seg.count)
        g_best, _ = parabolic_peak(profile, xs)
        a_fit, b_fit, ll_fit = _refine(r, lay, grid[g_best], betas[g_best, units], config)
        lo, hi = profile_interval(profile, xs, np.maximum(ll_fit, profile[g_best, units]))
        alpha[fit] = a_fit
        beta[fit] = b_fit
        ll[fit] = ll_fit
        lo_a[fit] = np.minimum(expit(lo), a_fit)
        hi_a[fit] = np.maximum(expit(hi), a_fit)
        grid_rel[fit] = (_grid_loglik(r_rows, lay, config) - ll_fit[:, None, None]).astype(
            np.float32
        )
        counts = np.bincount(
            seg.index * n_options + choice[rows], minlength=seg.count * n_options
        ).reshape(seg.count, n_options)
        n_fit = n[fit].astype(np.float64)
        pref[fit] = np.sum(xlogy(counts, counts / n_fit[:, None]), axis=1)
    return ChoiceFit(
        status=status,
        n_choices=n,
        alpha=alpha,
        alpha_lo=lo_a,
        alpha_hi=hi_a,
        beta=beta,
        loglik=ll,
        loglik_null=-(n.astype(np.float64)) * np.log(np.maximum(n_available, 1).astype(np.float64)),
        loglik_pref=pref,
        grid=grid_rel,
    )
