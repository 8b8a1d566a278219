"""The choice population fit.

Population fit (empirical Bayes; Huys et al. 2011, "Disentangling the roles of approach,
activation and valence in instrumental and pavlovian responding", PLoS Comput Biol 7(4):
e1002028; as in Huys' emfit and Rhoads' pyEM, 2023). In the unbounded parameters
x = (logit α, log β) every unit of a mechanic is drawn from one Gaussian prior N(μ, Σ), fitted
by maximising the marginal likelihood of all units,

    log p(D | μ, Σ) = Σᵢ log ∫ p(Dᵢ | x) N(x; μ, Σ) dx,

by EM. The integrals are sums over a fixed G × G grid of x (`grid_axes`), so each partition
stores, per fitted unit, its log-likelihood at the grid points, ℓᵢ(x_g) − ℓ̂ᵢ, as float32 (2.5 KB
a unit at G = 25), and the merge, which sees every unit of the mechanic in user-id order,
runs the EM with the prior discretised on the grid, w_g ∝ N(x_g; μ, Σ), Σ_g w_g = 1:

    E-step:  rᵢ_g = Lᵢ(x_g)·w_g / Σ_h Lᵢ(x_h)·w_h,   mᵢ = Σ_g rᵢ_g·x_g,   Sᵢ = Σ_g rᵢ_g·x_g·x_gᵀ
    M-step:  μ = (1/N) Σᵢ mᵢ,   Σ = (1/N) Σᵢ Sᵢ − μμᵀ  (mean posterior covariance + spread of
             the posterior means), each variance floored at (half a grid step)²,

accelerated by SQUAREM (Varadhan & Roland 2008, Scand J Stat 35:335), whose extrapolations are
kept only when the marginal likelihood does not fall. Fewer than `min_population` units: a
fixed broad prior instead. Each unit's α and β are then the posterior mode (the best grid
point moved to the vertex of the quadratic through its 3 × 3 neighbourhood) and 95 % central
intervals of the marginal posteriors on the grid. The model comparison is the integrated BIC,

    iBIC = −2 Σᵢ log p(Dᵢ | μ̂, Σ̂) + 5·log Σᵢ nᵢ      (5 prior parameters),

against no learning: a fixed preference per unit (BIC = Σᵢ −2 ℓ_pref,ᵢ + (Kᵢ − 1)·log nᵢ) and
uniformly random choice (BIC = Σᵢ 2 nᵢ log Kᵢ). hBayesDM fits the same model hierarchically by
MCMC (Ahn, Haines & Zhang 2017); this is its deterministic, mergeable empirical-Bayes analogue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, logsumexp

from models.choice.config import ChoiceConfig
from models.choice.unit_fit import grid_axes
from models.profile import (
    UnitGrids,
    quantiles_on_cells,
)

_CHUNK = 4096  # units per block of the E-step (bounds the float64 working set)


_GROUP_PARAMETERS = 5  # μ (2) and Σ (3): what the iBIC penalises


@dataclass(frozen=True, kw_only=True)
class ChoiceGrids(UnitGrids):
    """The fitted units of one mechanic, as a partition hands them to the merge.

    key: (n,) the unit's user id; loglik: (n,) maximised log-likelihood; rel: (n, G, G)
    float32 grid log-likelihood minus loglik (`ChoiceFit.grid`); n_choices, n_options: (n,);
    loglik_pref: (n,) fixed-preference log-likelihood.
    """

    key: NDArray[np.object_]
    loglik: NDArray[np.float64]
    rel: NDArray[np.float32]
    n_choices: NDArray[np.int64]
    n_options: NDArray[np.int64]
    loglik_pref: NDArray[np.float64]


@dataclass(frozen=True, kw_only=True)
class PopulationFit:
    """Empirical-Bayes fit of one mechanic's choice units.

    mean (2,), cov (2, 2): the Gaussian prior over x = (logit α, log β); prior: "em" or
    "default" (too few units for EM); iterations, converged: of the EM.
    Per unit (n,): alpha, beta — the posterior mode (MAP); alpha_lo/_hi, beta_lo/_hi — 95 %
    central posterior intervals; log_evidence — log p(Dᵢ | μ, Σ).
    Model comparison (lower is better): ibic (learning model, integrated over the prior),
    bic_preference (a fixed preference per unit, K−1 parameters each), bic_random (uniformly
    random choice, no parameters).
    """

    mean: NDArray[np.float64]
    cov: NDArray[np.float64]
    prior: str
    iterations: int
    converged: bool
    alpha: NDArray[np.float64]
    alpha_lo: NDArray[np.float64]
    alpha_hi: NDArray[np.float64]
    beta: NDArray[np.float64]
    beta_lo: NDArray[np.float64]
    beta_hi: NDArray[np.float64]
    log_evidence: NDArray[np.float64]
    ibic: float
    bic_preference: float
    bic_random: float


def _log_prior(
    points: NDArray[np.float64], mean: NDArray[np.float64], cov: NDArray[np.float64]
) -> NDArray[np.float64]:
    """(P,) log weights of the prior N(mean, cov) discretised on the grid points (P, 2)."""
    d = points - mean
    inv = np.linalg.inv(cov)
    log_w = -0.5 * np.einsum("pi,ij,pj->p", d, inv, d)
    return np.asarray(log_w - logsumexp(log_w), dtype=np.float64)


def _e_step(
    lik: NDArray[np.float32],
    rel: NDArray[np.float32],
    log_w: NDArray[np.float64],
    features: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Posterior expectations of `features` (P, F) per unit (n, F), and log Σ_g Lᵢ(θ_g)·w_g (n,)
    with Lᵢ the likelihood ratio `lik` = exp(`rel`) (n, P).

    Block by block of units, each row the same computation whatever the other rows are. A unit
    whose likelihood lies where the prior weights underflow is redone in log space.
    """
    n = lik.shape[0]
    moments = np.empty((n, features.shape[1]))
    log_norm = np.empty(n)
    w = np.exp(log_w)
    wf = np.concatenate([w[:, None], w[:, None] * features], axis=1)
    for lo in range(0, n, _CHUNK):
        sums = lik[lo : lo + _CHUNK].astype(np.float64) @ wf
        total = sums[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            moments[lo : lo + _CHUNK] = sums[:, 1:] / total[:, None]
            log_norm[lo : lo + _CHUNK] = np.log(total)
    for row in np.flatnonzero(~(log_norm > -600.0)).tolist():
        a = rel[row].astype(np.float64) + log_w
        top = float(a.max())
        e = np.exp(a - top)
        moments[row] = (e @ features) / e.sum()
        log_norm[row] = top + math.log(float(e.sum()))
    return moments, log_norm


def _em_map(
    theta: NDArray[np.float64],
    lik: NDArray[np.float32],
    rel: NDArray[np.float32],
    points: NDArray[np.float64],
    features: NDArray[np.float64],
    floor: NDArray[np.float64],
) -> tuple[NDArray[np.float64], float]:
    """One EM update of θ = (μ₁, μ₂, Σ₁₁, Σ₁₂, Σ₂₂), and the log marginal likelihood at θ.

    M-step (Huys et al. 2011): μ = mean of the posterior means mᵢ; Σ = mean of the posterior
    second moments − μμᵀ (= mean posterior covariance + spread of the means), its variances
    floored and its correlation kept inside (−1, 1).
    """
    mean, cov = theta[:2], np.array([[theta[2], theta[3]], [theta[3], theta[4]]])
    m, log_norm = _e_step(lik, rel, _log_prior(points, mean, cov), features)
    new_mean = m[:, :2].mean(axis=0)
    second = m[:, 2:].mean(axis=0)
    var = np.maximum(second[[0, 2]] - new_mean**2, floor)
    limit = 0.999 * math.sqrt(float(var[0] * var[1]))
    c = float(np.clip(second[1] - new_mean[0] * new_mean[1], -limit, limit))
    return np.array([new_mean[0], new_mean[1], var[0], c, var[1]]), float(log_norm.sum())


def _valid(theta: NDArray[np.float64], floor: NDArray[np.float64]) -> bool:
    return bool(
        np.all(np.isfinite(theta))
        and theta[2] >= floor[0]
        and theta[4] >= floor[1]
        and theta[2] * theta[4] - theta[3] ** 2 > 0
    )


def _default_prior(config: ChoiceConfig) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A broad prior over the grid: centred, with a quarter of each axis' span as SD."""
    xa, xb = grid_axes(config)
    mean = np.array([0.5 * (xa[0] + xa[-1]), 0.5 * (xb[0] + xb[-1])])
    sd = np.array([(xa[-1] - xa[0]) / 4.0, (xb[-1] - xb[0]) / 4.0])
    return mean, np.diag(sd * sd)


def _mode_on_grid(
    log_post: NDArray[np.float64], xa: NDArray[np.float64], xb: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Posterior mode (n,) × 2 from (n, G, G) log posteriors: the best grid point, moved to
    the vertex of the quadratic through its 3 × 3 neighbourhood (central differences) when
    that is concave, else per axis to the parabola's vertex; within one grid step."""
    n, ga, gb = log_post.shape
    flat = np.argmax(log_post.reshape(n, -1), axis=1)
    bi, bj = flat // gb, flat % gb
    ci, cj = np.clip(bi, 1, ga - 2), np.clip(bj, 1, gb - 2)
    units = np.arange(n)

    def f(di: int, dj: int) -> NDArray[np.float64]:
        return np.asarray(log_post[units, ci + di, cj + dj], dtype=np.float64)

    f0 = f(0, 0)
    g = np.stack([(f(1, 0) - f(-1, 0)) / 2.0, (f(0, 1) - f(0, -1)) / 2.0], axis=1)
    haa = f(1, 0) - 2.0 * f0 + f(-1, 0)
    hbb = f(0, 1) - 2.0 * f0 + f(0, -1)
    hab = (f(1, 1) - f(1, -1) - f(-1, 1) + f(-1, -1)) / 4.0
    det = haa * hbb - hab * hab
    concave = (haa < 0) & (det > 0) & np.isfinite(det) & np.all(np.isfinite(g), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        joint = np.stack(
            [-(hbb * g[:, 0] - hab * g[:, 1]) / det, -(haa * g[:, 1] - hab * g[:, 0]) / det],
            axis=1,
        )
        single = np.stack(
            [
                np.where(haa < 0, -g[:, 0] / haa, 0.0),
                np.where(hbb < 0, -g[:, 1] / hbb, 0.0),
            ],
            axis=1,
        )
    step = np.where(concave[:, None], joint, single)
    step = np.where(np.isfinite(step), step, 0.0)
    # stay within one step of the best grid point, and on the grid
    best = np.stack([bi, bj], axis=1).astype(np.float64)
    centre = np.stack([ci, cj], axis=1).astype(np.float64)
    top = np.array([ga - 1, gb - 1], dtype=np.float64)
    pos = np.clip(centre + step, np.maximum(best - 1.0, 0.0), np.minimum(best + 1.0, top))
    ha, hb = xa[1] - xa[0], xb[1] - xb[0]
    return xa[0] + pos[:, 0] * ha, xb[0] + pos[:, 1] * hb


def fit_population(grids: ChoiceGrids, config: ChoiceConfig) -> PopulationFit:
    """Empirical-Bayes fit of the units' (logit α, log β): a Gaussian prior N(μ, Σ) by EM on
    the grid likelihoods, then each unit's posterior mode and 95 % interval under it.

    The units must be in a canonical order (`ChoiceGrids.pooled`); everything here is a fixed
    sequence of operations on them, so the result is deterministic.
    """
    xa, xb = grid_axes(config)
    ga, gb = xa.shape[0], xb.shape[0]
    pa, pb = np.meshgrid(xa, xb, indexing="ij")
    points = np.stack([pa.ravel(), pb.ravel()], axis=1)
    features = np.stack(
        [points[:, 0], points[:, 1], points[:, 0] ** 2, points[:, 0] * points[:, 1],
         points[:, 1] ** 2],
        axis=1,
    )  # fmt: skip
    # the floor keeps the prior at least as wide as half a grid step on each axis
    floor = np.array([(xa[1] - xa[0]) / 2.0, (xb[1] - xb[0]) / 2.0]) ** 2
    n = grids.key.shape[0]
    mean, cov = _default_prior(config)
    prior, iterations, converged = "default", 0, True
    lik = np.exp(grids.rel.reshape(n, -1))
    rel = grids.rel.reshape(n, -1)
    if n >= config.min_population:
        prior, converged = "em", False
        theta = np.array([mean[0], mean[1], cov[0, 0], cov[0, 1], cov[1, 1]])
        # EM accelerated by SQUAREM (Varadhan & Roland 2008, scheme S3): two EM steps, an
        # extrapolation along them, one EM step from there, kept only if the marginal
        # likelihood did not fall; otherwise the plain second EM step
        while iterations < config.em_iterations:
            t1, obj0 = _em_map(theta, lik, rel, points, features, floor)
            t2, _ = _em_map(t1, lik, rel, points, features, floor)
            iterations += 2
            r, v = t1 - theta, t2 - 2.0 * t1 + theta
            nxt = t2
            if float(np.linalg.norm(v)) > 0:
                step = min(-float(np.linalg.norm(r) / np.linalg.norm(v)), -1.0)
                jump = theta - 2.0 * step * r + step * step * v
                if _valid(jump, floor):
                    t3, obj_jump = _em_map(jump, lik, rel, points, features, floor)
                    iterations += 1
                    if obj_jump >= obj0:
                        nxt = t3
            change = float(np.max(np.abs(nxt - theta)))
            theta = nxt
            if change < config.em_tolerance:
                converged = True
                break
        mean = theta[:2]
        cov = np.array([[theta[2], theta[3]], [theta[3], theta[4]]])
    log_w = _log_prior(points, mean, cov)
    _, log_norm = _e_step(lik, rel, log_w, features[:, :0])
    del lik
    a_mode, b_mode = np.empty(n), np.empty(n)
    a_lo, a_hi, b_lo, b_hi = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    for lo in range(0, n, _CHUNK):
        hi = min(lo + _CHUNK, n)
        log_post = grids.rel[lo:hi].astype(np.float64) + log_w.reshape(ga, gb)
        a_mode[lo:hi], b_mode[lo:hi] = _mode_on_grid(log_post, xa, xb)
        post = np.exp(log_post - log_post.max(axis=(1, 2), keepdims=True))
        a_lo[lo:hi], a_hi[lo:hi] = quantiles_on_cells(post.sum(axis=2), xa, (0.025, 0.975))
        b_lo[lo:hi], b_hi[lo:hi] = quantiles_on_cells(post.sum(axis=1), xb, (0.025, 0.975))
    log_evidence = grids.loglik + log_norm
    n_c = grids.n_choices.astype(np.float64)
    k = grids.n_options.astype(np.float64)
    return PopulationFit(
        mean=mean,
        cov=cov,
        prior=prior,
        iterations=iterations,
        converged=converged,
        alpha=expit(a_mode),
        alpha_lo=expit(np.minimum(a_lo, a_mode)),
        alpha_hi=expit(np.maximum(a_hi, a_mode)),
        beta=np.exp(b_mode),
        beta_lo=np.exp(np.minimum(b_lo, b_mode)),
        beta_hi=np.exp(np.maximum(b_hi, b_mode)),
        log_evidence=log_evidence,
        ibic=float(-2.0 * log_evidence.sum() + _GROUP_PARAMETERS * math.log(max(n_c.sum(), 1.0))),
        bic_preference=float(np.sum(-2.0 * grids.loglik_pref + (k - 1.0) * np.log(n_c))),
        bic_random=float(np.sum(2.0 * n_c * np.log(k))),
    )
