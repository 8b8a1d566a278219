"""The Laplace posterior of a block of units under a population prior: per grid α a Gaussian
posterior over b, its evidence and moments, and quantiles of its mixture over the grid."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import logsumexp, ndtr, ndtri

from models.engagement.cofactors import symmetric_cofactors
from models.engagement.grids import EngagementGrids
from models.engagement.moments import population_moments

_CHUNK = 2048  # units per block of the E-step (bounds the (units, G) working set)


_B0_PRECISION = 1e-6  # the fit's vanishing prior on b₀ (`engagement_fits`)


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
    c00, c01, c02, c11, c12, c22, det = symmetric_cofactors(q00, h01, h02, q11, h12, q22)
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
    come from one compiled pass over the units (`population_moments`).
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
