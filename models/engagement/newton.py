"""The engagement model's logistic fits at every learning rate of its grid, compiled.

The fits are safeguarded Newton iterations (Nocedal & Wright 2006, Numerical Optimization,
§3.1, §3.4): each starts from its warm start or from the unit's intercept-only null, whichever
has the higher penalised log-likelihood, keeps a step only where it raises that objective by the
Armijo condition (halving it otherwise), falls back to the gradient where the Hessian is not
numerically definite, and runs until the Newton decrement says it has converged. A fit therefore
never ends below the null — which plain Newton steps, clipped and cut off after a fixed count,
could do on nearly separable or long-session units, far from the maximum.

The fits allow their sums to be reassociated (so they vectorise), never contracted; a unit's fit
reads its own rows only, in a fixed order, so it is the same in any partition of users.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from models.compiled import compiled
from models.engagement.cofactors import symmetric_cofactors

# exp(z) = 2ᵏ·exp(r), k = round(z/ln 2), |r| ≤ ln 2 / 2, in steps a vector unit can take (the
# library's exp is one call per value): ln 2 in two parts so k·ln 2 is exact to 2⁻⁶⁴, and
# exp(r) by its Taylor series to r¹², whose remainder is below 2·10⁻¹⁶
_LOG2E = 1.4426950408889634


_LN2_HI = 6.93147180369123816490e-01


_LN2_LO = 1.90821492927058770002e-10


_EXP_TAYLOR = tuple(1.0 / math.factorial(i) for i in range(13))


# a float64 as bits: the mantissa's 52 bits, and the exponent bits of 1.0
_MANTISSA = (1 << 52) - 1


_ONE = 1023 << 52


_LN2 = math.log(2.0)


_PRODUCT_BLOCK = 512  # mantissas in [1, 2): a product of 512 stays below 2⁵¹², finite


# the safeguards of the Newton fit (Nocedal & Wright 2006, §3.1): a step is kept only if it
# raises the penalised log-likelihood by at least _ARMIJO × the rise its slope predicts (the
# Armijo condition), else it is halved, at most _HALVINGS times — when none of those rises above
# rounding the fit is at its maximum to machine precision. A step longer than _STEP_CAP in any
# coefficient is first shortened to it (its direction kept), so a Newton step from where the
# Hessian nearly vanishes (saturated probabilities) does not need dozens of halvings back
_ARMIJO = 1e-4


_HALVINGS = 40


_STEP_CAP = 10.0


@compiled
def _engagement_fits(
    reward: NDArray[np.float64],
    sign: NDArray[np.float64],
    observed: NDArray[np.bool_],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    alphas: NDArray[np.float64],
    b_start: NDArray[np.float64],
    settings: NDArray[np.float64],
    exact: bool,
    with_reduced: bool,
    objective: NDArray[np.float64],
    reduced: NDArray[np.float64],
    coefficients: NDArray[np.float64],
    loglik: NDArray[np.float64],
    cov: NDArray[np.float64],
    done: NDArray[np.bool_],
    hessian: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled; covered through `engagement_fits`
    v0, ridge, iterations, tolerance = settings[0], settings[1], int(settings[2]), settings[3]
    widest = 0
    for k in range(start.shape[0]):
        widest = max(widest, length[k])
    # the unit's observed decisions: sign s = 2c − 1, V after (x₁) and prediction error (x₂);
    # odds·2ᵏ = exp(−s·η), the odds against the observed outcome at the current coefficients
    s_obs, x1_obs, x2_obs = np.empty(widest), np.empty(widest), np.empty(widest)
    odds = np.empty(widest)
    two_k_bits = np.empty(widest, dtype=np.int64)
    two_k = two_k_bits.view(np.float64)
    y = np.empty(widest)  # 1 + odds·2ᵏ, for the log-likelihood
    y_bits = y.view(np.int64)
    mantissa_bits = np.empty(widest, dtype=np.int64)
    mantissa = mantissa_bits.view(np.float64)
    taylor = _EXP_TAYLOR

    def log_likelihood(n: int, b0: float, b1: float, b2: float) -> float:
        # odds and 2ᵏ of every decision at (b₀, b₁, b₂), and Σ log q = −Σ log(1 + exp(−s·η))
        # = −log Π yⱼ, yⱼ = 2^kⱼ·mⱼ, mⱼ ∈ [1, 2): the exponents summed, the mantissas
        # multiplied (in blocks that cannot overflow) and one logarithm per block, all in
        # vector steps
        for j in range(n):
            z = -s_obs[j] * (b0 + b1 * x1_obs[j] + b2 * x2_obs[j])
            z = min(max(z, -700.0), 700.0)
            m = np.floor(z * _LOG2E + 0.5)
            two_k_bits[j] = (np.int64(m) + 1023) << 52
            r = (z - m * _LN2_HI) - m * _LN2_LO
            p = taylor[12]
            for d in range(11, -1, -1):
                p = p * r + taylor[d]
            odds[j] = p
        for j in range(n):
            y[j] = 1.0 + odds[j] * two_k[j]
        exponents = 0
        for j in range(n):
            bits = y_bits[j]
            exponents += (bits >> 52) - 1023
            mantissa_bits[j] = (bits & _MANTISSA) | _ONE
        ll = -exponents * _LN2
        for lo in range(0, n, _PRODUCT_BLOCK):
            product = 1.0
            for j in range(lo, min(lo + _PRODUCT_BLOCK, n)):
                product *= mantissa[j]
            ll -= np.log(product)
        return ll

    n_models = 2 if with_reduced else 1
    with_hessian = hessian.shape[0] > 0
    prev = np.empty((2, 2, 3))  # each model's previous two fits, for warm starts
    for k in range(start.shape[0]):
        for model in range(2):
            for j in range(3):
                prev[model, 0, j] = prev[model, 1, j] = (
                    b_start[k, j] if j < 2 or model == 0 else 0.0
                )
        # the intercept-only null, b₀ = logit of the unit's continue rate: every fit starts
        # from it or from a better point, and never steps down, so it ends at or above it
        n = 0
        n_cont = 0
        for i in range(start[k], start[k] + length[k]):
            if observed[i]:
                s_obs[n] = sign[i]
                x1_obs[n] = x2_obs[n] = 0.0
                n_cont += 1 if sign[i] > 0 else 0
                n += 1
        b0_null = np.log(max(n_cont, 0.5) / max(n - n_cont, 0.5))
        f_null = log_likelihood(n, b0_null, 0.0, 0.0) - 0.5e-6 * b0_null * b0_null
        for g in range(alphas.shape[1]):
            a = alphas[k, g]
            keep = 1.0 - a
            v = v0
            n = 0
            for i in range(start[k], start[k] + length[k]):
                r = reward[i]
                delta = r - v
                v = a * r + keep * v
                if observed[i]:
                    x1_obs[n] = v
                    x2_obs[n] = delta
                    n += 1
            for model in range(n_models):
                full = model == 0  # (b₀, b_V, b_δ); the reduced model has no b_δ (b₂ = 0)
                # the warm start: the previous two fits extrapolated (the previous one at the
                # second rate), unless it is below the null
                if g >= 2:
                    b0 = 2.0 * prev[model, 0, 0] - prev[model, 1, 0]
                    b1 = 2.0 * prev[model, 0, 1] - prev[model, 1, 1]
                    b2 = 2.0 * prev[model, 0, 2] - prev[model, 1, 2]
                else:
                    b0, b1, b2 = prev[model, 0, 0], prev[model, 0, 1], prev[model, 0, 2]
                ll = log_likelihood(n, b0, b1, b2)
                f = ll - 0.5 * (1e-6 * b0 * b0 + ridge * (b1 * b1 + b2 * b2))
                if not f >= f_null:  # NaN included
                    b0, b1, b2 = b0_null, 0.0, 0.0
                    ll = log_likelihood(n, b0, b1, b2)
                    f = ll - 0.5e-6 * b0 * b0
                # Newton steps with a backtracking line search, until half the squared Newton
                # decrement (the rise a further step predicts) is below the tolerance; `odds`
                # and `two_k` hold the current coefficients' values at the top of each pass
                c00 = c01 = c02 = c11 = c12 = c22 = det = 0.0
                converged = False
                for step_no in range(iterations + 1):
                    g0 = g1 = g2 = 0.0
                    h00 = h01 = h02 = h11 = h12 = h22 = 0.0
                    for j in range(n):
                        e = odds[j] * two_k[j]
                        q = 1.0 / (1.0 + e)  # the probability of the observed outcome
                        rest = e * q  # 1 − q, to full relative precision
                        x1 = x1_obs[j]
                        x2 = x2_obs[j]
                        gw = s_obs[j] * rest
                        g0 += gw
                        g1 += gw * x1
                        g2 += gw * x2
                        hw = q * rest
                        h00 += hw
                        h01 += hw * x1
                        h02 += hw * x2
                        h11 += hw * x1 * x1
                        h12 += hw * x1 * x2
                        h22 += hw * x2 * x2
                    # the prior: N(0, 1/ridge) on b_V and b_δ, a vanishing one on b₀
                    g0 -= 1e-6 * b0
                    g1 -= ridge * b1
                    g2 -= ridge * b2
                    h00 += 1e-6
                    h11 += ridge
                    h22 += ridge
                    if not full:  # b₂ stays 0
                        g2 = h02 = h12 = 0.0
                        h22 = 1.0
                    # the inverse of the (symmetric) negative Hessian, by cofactors
                    c00, c01, c02, c11, c12, c22, det = symmetric_cofactors(
                        h00, h01, h02, h11, h12, h22
                    )
                    if step_no == iterations:
                        break
                    # Newton's direction where the negative Hessian is positive definite
                    # (its leading minors > 0) and the step finite and uphill, else the
                    # gradient's, scaled by the Hessian's trace (an upper bound of its
                    # curvature); the slope along a Newton step is the squared decrement
                    slope = -1.0
                    if h00 > 0.0 and c22 > 0.0 and det > 0.0:
                        d0 = (c00 * g0 + c01 * g1 + c02 * g2) / det
                        d1 = (c01 * g0 + c11 * g1 + c12 * g2) / det
                        d2 = (c02 * g0 + c12 * g1 + c22 * g2) / det
                        slope = g0 * d0 + g1 * d1 + g2 * d2
                    if not (slope > 0.0 and np.isfinite(slope)):
                        scale = 1.0 / max(h00 + h11 + h22, 1e-300)
                        d0, d1, d2 = g0 * scale, g1 * scale, g2 * scale
                        slope = g0 * d0 + g1 * d1 + g2 * d2
                    if not (0.5 * slope >= tolerance and np.isfinite(slope)):
                        converged = True  # (or nowhere to go: a zero or non-finite gradient)
                        break
                    largest = max(abs(d0), abs(d1), abs(d2))
                    if largest > _STEP_CAP:
                        shrink = _STEP_CAP / largest
                        d0, d1, d2, slope = d0 * shrink, d1 * shrink, d2 * shrink, slope * shrink
                    t = 1.0
                    accepted = False
                    for _ in range(_HALVINGS):
                        t0, t1, t2 = b0 + t * d0, b1 + t * d1, b2 + t * d2
                        ll_t = log_likelihood(n, t0, t1, t2)
                        f_t = ll_t - 0.5 * (1e-6 * t0 * t0 + ridge * (t1 * t1 + t2 * t2))
                        if f_t >= f + _ARMIJO * t * slope:
                            accepted = True
                            break
                        t *= 0.5
                    if not accepted:
                        converged = True  # no rise left above rounding: the maximum
                        break
                    b0, b1, b2, ll, f = t0, t1, t2, ll_t, f_t
                if full:
                    objective[g, k] = f
                    coefficients[g, k, 0] = b0
                    coefficients[g, k, 1] = b1
                    coefficients[g, k, 2] = b2
                    done[g, k] = converged
                    if with_hessian:  # the penalised negative Hessian at the fit's end
                        hessian[g, k, 0] = h00
                        hessian[g, k, 1] = h01
                        hessian[g, k, 2] = h02
                        hessian[g, k, 3] = h11
                        hessian[g, k, 4] = h12
                        hessian[g, k, 5] = h22
                    if exact:
                        loglik[k] = ll
                        inv = 1.0 / det if det > 0.0 else np.nan
                        cov[k, 0, 0] = c00 * inv
                        cov[k, 0, 1] = cov[k, 1, 0] = c01 * inv
                        cov[k, 0, 2] = cov[k, 2, 0] = c02 * inv
                        cov[k, 1, 1] = c11 * inv
                        cov[k, 1, 2] = cov[k, 2, 1] = c12 * inv
                        cov[k, 2, 2] = c22 * inv
                else:
                    reduced[g, k] = f
                prev[model, 1, 0], prev[model, 0, 0] = prev[model, 0, 0], b0
                prev[model, 1, 1], prev[model, 0, 1] = prev[model, 0, 1], b1
                prev[model, 1, 2], prev[model, 0, 2] = prev[model, 0, 2], b2


def engagement_fits(
    reward: NDArray[np.float64],
    continued: NDArray[np.bool_],
    observed: NDArray[np.bool_],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    alphas: NDArray[np.float64],
    b_start: NDArray[np.float64],
    *,
    v0: float,
    ridge: float,
    iterations: int,
    tolerance: float,
    exact: bool,
    with_reduced: bool,
    hessian: NDArray[np.float64] | None = None,
) -> tuple[
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.bool_],
]:
    """Logistic fits of continuing, P(cₜ = 1) = σ(b₀ + b_V·Vₜ₊₁ + b_δ·δₜ), for each unit at
    each of its learning rates, with Vₜ₊₁ and δₜ from Rescorla-Wagner at that rate (the steps
    of `rescorla_wagner_units`).

    reward, continued, observed: (n,), units concatenated (rewards already per unit scale);
    start, length: (u,) each unit's rows; alphas: (u, G) the rates, fitted in order;
    b_start: (u, 3) the first fit's starting coefficients. Later fits start from the previous
    two fits' coefficients extrapolated (from the previous one's at the second rate) — or from
    the intercept-only null (b₀ = logit of the unit's continue rate, b_V = b_δ = 0) wherever
    that start is below the null's.

    Each fit maximises the log-likelihood of the observed decisions with a N(0, 1/ridge) prior
    on b_V and b_δ (and a vanishing one on b₀) — a strictly concave objective — by Newton's
    method with a backtracking line search: a step is kept only if it raises the objective by
    at least 10⁻⁴ of the rise its slope predicts (the Armijo condition), else halved; where
    the negative Hessian is not numerically positive definite the step follows the gradient
    (Nocedal & Wright 2006, §3.1, §3.5). So no fit ends below its start, nor below the null.
    It stops when half the squared Newton decrement gᵀH⁻¹g — the rise another step predicts —
    is below `tolerance`, or when no halving rises above rounding, or after `iterations` steps
    (then `converged` is False). with_reduced: also fit the model without b_δ at each rate.

    Returns objective (G, u) and reduced (G, u) (the penalised log-likelihoods; reduced is NaN
    without with_reduced), coefficients (G, u, 3); with exact, loglik (u,) the unpenalised
    log-likelihood of the last fit and cov (u, 3, 3) its inverse penalised negative Hessian
    (else NaN); converged (G, u), whether each full-model fit met a stopping rule before
    `iterations`. hessian: a (G, u, 6) array to fill with the penalised negative Hessian at
    the end of each full-model fit, (h₀₀, h₀₁, h₀₂, h₁₁, h₁₂, h₂₂) — the curvature a Laplace
    approximation needs (left untouched where nothing was fitted).

    Each unit's fit reads its own rows only, in its own order, so partitions of units give
    the same results bit for bit.
    """
    u, grid = alphas.shape
    objective = np.full((grid, u), np.nan)
    reduced = np.full((grid, u), np.nan)
    coefficients = np.full((grid, u, 3), np.nan)
    loglik = np.full(u, np.nan)
    cov = np.full((u, 3, 3), np.nan)
    converged = np.zeros((grid, u), dtype=np.bool_)
    _engagement_fits(
        np.ascontiguousarray(reward, dtype=np.float64),
        np.where(np.asarray(continued, dtype=np.bool_), 1.0, -1.0),
        np.ascontiguousarray(observed, dtype=np.bool_),
        np.ascontiguousarray(start, dtype=np.int64),
        np.ascontiguousarray(length, dtype=np.int64),
        np.ascontiguousarray(alphas, dtype=np.float64),
        np.ascontiguousarray(b_start, dtype=np.float64),
        np.array([v0, ridge, iterations, tolerance], dtype=np.float64),
        bool(exact), bool(with_reduced),
        objective, reduced, coefficients, loglik, cov, converged,
        np.zeros((0, 0, 6)) if hessian is None else hessian,
    )  # fmt: skip
    return objective, reduced, coefficients, loglik, cov, converged
