"""The posterior moments of the engagement population fit, compiled.

One pass per unit at each step of the prior's fit, where numpy makes some thirty passes over
(units × grid) temporaries.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from models.compiled import compiled
from models.engagement.cofactors import symmetric_cofactors


# a unit's moments read its own values only, in a fixed order, so any partition of the units
# gives the same bits (the E-step's moments agree with numpy's to about 10⁻¹³)
@compiled
def _population_moments(
    quad: NDArray[np.float64],
    log_w: NDArray[np.float64],
    xs: NDArray[np.float64],
    prior: NDArray[np.float64],
    log_evidence: NDArray[np.float64],
    first: NDArray[np.float64],
    second: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled; covered through `population_moments`
    n_grid = xs.shape[0]
    m_0, m_1, m_2 = prior[0], prior[1], prior[2]
    p_0, p_1, p_2 = prior[3], prior[4], prior[5]
    constant = -0.5 * (p_0 * m_0 * m_0 + p_1 * m_1 * m_1 + p_2 * m_2 * m_2) + 0.5 * (
        np.log(p_0) + np.log(p_1) + np.log(p_2)
    )
    log_z = np.empty(n_grid)
    moments = np.empty((n_grid, 6))  # the posterior means and variances of b at each α
    for i in range(quad.shape[1]):
        top = -np.inf
        for g in range(n_grid):
            q00 = quad[0, i, g] + p_0
            h01 = quad[1, i, g]
            h02 = quad[2, i, g]
            q11 = quad[3, i, g] + p_1
            h12 = quad[4, i, g]
            q22 = quad[5, i, g] + p_2
            c00, c01, c02, c11, c12, c22, det = symmetric_cofactors(q00, h01, h02, q11, h12, q22)
            value = -np.inf
            if q00 > 0.0 and c22 > 0.0 and det > 0.0:
                r0 = quad[6, i, g] + p_0 * m_0
                r1 = quad[7, i, g] + p_1 * m_1
                r2 = quad[8, i, g] + p_2 * m_2
                inv = 1.0 / det
                b0 = (c00 * r0 + c01 * r1 + c02 * r2) * inv
                b1 = (c01 * r0 + c11 * r1 + c12 * r2) * inv
                b2 = (c02 * r0 + c12 * r1 + c22 * r2) * inv
                z = (
                    quad[9, i, g]
                    + constant
                    - 0.5 * np.log(det)
                    + 0.5 * (b0 * r0 + b1 * r1 + b2 * r2)
                )
                if np.isfinite(z):
                    value = z + log_w[g]
                    moments[g, 0], moments[g, 1], moments[g, 2] = b0, b1, b2
                    moments[g, 3], moments[g, 4], moments[g, 5] = c00 * inv, c11 * inv, c22 * inv
            log_z[g] = value
            top = max(top, value)
        total = 0.0
        for g in range(n_grid):
            log_z[g] = np.exp(log_z[g] - top) if log_z[g] > -np.inf else 0.0  # now the weight
            total += log_z[g]
        log_evidence[i] = top + np.log(total) if total > 0.0 else -np.inf
        for j in range(4):
            first[i, j] = 0.0
            second[i, j] = 0.0
        for g in range(n_grid):
            if log_z[g] == 0.0:
                continue
            w = log_z[g] / total
            first[i, 0] += w * xs[g]
            second[i, 0] += w * xs[g] * xs[g]
            for j in range(3):
                m = moments[g, j]
                first[i, j + 1] += w * m
                second[i, j + 1] += w * (m * m + moments[g, 3 + j])


def population_moments(
    quad: NDArray[np.float64],
    log_w: NDArray[np.float64],
    xs: NDArray[np.float64],
    mean: NDArray[np.float64],
    precision: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Each unit's log marginal likelihood (n,) and posterior first and second moments (n, 4)
    of (logit α, b₀, b_V, b_δ) under a prior: weights exp(log_w) (G,) on the grid xs (G,) of
    logit α, and N(mean, diag 1/precision) on b (each (3,)).

    quad: (10, n, G) each unit's log-likelihood at each grid α as a quadratic in b,
    c + bᵀg − ½bᵀLb, as (l₀₀, l₀₁, l₀₂, l₁₁, l₁₂, l₂₂, g₀, g₁, g₂, c) — see
    `models.engagement.posterior._posterior`, the same computation in numpy, block by block
    (which this matches to rounding); here one pass per unit, for the prior's fit, which needs
    only the moments. A grid point whose posterior precision is not positive definite has weight 0.
    """
    n = quad.shape[1]
    log_evidence = np.empty(n)
    first = np.empty((n, 4))
    second = np.empty((n, 4))
    if n:
        _population_moments(
            np.ascontiguousarray(quad, dtype=np.float64),
            np.ascontiguousarray(log_w, dtype=np.float64),
            np.ascontiguousarray(xs, dtype=np.float64),
            np.concatenate([mean, precision]).astype(np.float64),
            log_evidence, first, second,
        )  # fmt: skip
    return log_evidence, first, second
