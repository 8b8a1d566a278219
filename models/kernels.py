"""Compiled kernels: per-row loops that no vectorised numpy pass does in one go.

The loops that live here: Rescorla-Wagner over many units (the hot path of every per-user
expectation), the engagement model's logistic fits at every learning rate of its grid and the
posterior moments of its population fit (one pass per unit at each step of the prior's fit,
where numpy makes some thirty passes over (units × grid) temporaries), the lookup of values in
a table of keys (the reader's name codes), a fingerprint of each row over several columns, the
order of those fingerprints and the grouping of rows by user (the canonical order of the
input), the order of events by unit and time (trials) — linear-time bucket sorts where numpy
has only comparison sorts — and the life tables of a schedule, counted in one pass.

Rescorla-Wagner over many units is a first-order linear filter that restarts at every unit.
numpy has no segmented filter, so the vectorised forms (`models.expectation.filter_rows` on a
padded layout, `linear_recurrence`'s doubling scan) take several passes over the data. Compiled
with numba, one pass over the concatenated units computes V before, the prediction error and V
after each response; it is the hot path of every per-user expectation.

The loop evaluates exactly fl(fl(α·r) + fl((1−α)·V)) per step, in each unit's own order and
from each unit's own start, with no fused multiply-add (numba compiles without fast-math), so a
unit's values depend on its own rewards only, bit for bit — partitions of users give the same
results — and match `filter_rows`'s numpy steps to the bit. The engagement fits allow their sums
to be reassociated (so they vectorise), never contracted; a unit's fit still reads its own rows
only, in a fixed order, so it too is the same in any partition.

The engagement fits are safeguarded Newton iterations (Nocedal & Wright 2006, Numerical
Optimization, §3.1, §3.4): each starts from its warm start or from the unit's intercept-only
null, whichever has the higher penalised log-likelihood, keeps a step only where it raises that
objective by the Armijo condition (halving it otherwise), falls back to the gradient where the
Hessian is not numerically definite, and runs until the Newton decrement says it has converged.
A fit therefore never ends below the null — which plain Newton steps, clipped and cut off after
a fixed count, could do on nearly separable or long-session units, far from the maximum.

A kernel is compiled at its first call and cached on disk (numba's `cache=True`: in
`NUMBA_CACHE_DIR` when set — the Docker image points it at the data volume — else next to this
module or in the user's cache folder), so compilation is paid once per machine; with no
writable folder, once per process.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

_Kernel = Callable[..., Any]


class _compiled:  # noqa: N801 - used as a decorator
    """A numba kernel compiled (or loaded from numba's on-disk cache) at its first call, so a
    process that never runs one — the web server, a merge without engagement fits — never
    loads the compiler."""

    def __init__(self, function: _Kernel, **options: Any) -> None:
        self._function = function
        self._options = options
        self._kernel: _Kernel | None = None

    @classmethod
    def with_options(cls, **options: Any) -> Callable[[_Kernel], _compiled]:
        """The decorator with numba compile options (such as fast-math flags)."""
        return lambda function: cls(function, **options)

    def __call__(self, *args: Any) -> Any:
        if self._kernel is None:
            import numba

            try:
                self._kernel = numba.njit(cache=True, nogil=True, **self._options)(self._function)
            except RuntimeError:  # no writable cache folder: compile for this process only
                self._kernel = numba.njit(cache=False, nogil=True, **self._options)(self._function)
        return self._kernel(*args)


@_compiled
def _rescorla_wagner_units(
    reward: NDArray[np.float64],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    alpha: NDArray[np.float64],
    v0: float,
    v_pre: NDArray[np.float64],
    delta: NDArray[np.float64],
    v_post: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled; covered through `rescorla_wagner_units`
    for k in range(start.shape[0]):
        a = alpha[k]
        keep = 1.0 - a
        v = v0
        for i in range(start[k], start[k] + length[k]):
            r = reward[i]
            v_pre[i] = v
            delta[i] = r - v
            v = a * r + keep * v
            v_post[i] = v


@_compiled
def _rescorla_wagner_post(
    reward: NDArray[np.float64],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    alpha: NDArray[np.float64],
    v0: float,
    v_post: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled; covered through `rescorla_wagner_values`
    # the same steps as above, writing one array instead of three
    for k in range(start.shape[0]):
        a = alpha[k]
        keep = 1.0 - a
        v = v0
        for i in range(start[k], start[k] + length[k]):
            v = a * reward[i] + keep * v
            v_post[i] = v


def _arguments(
    reward: NDArray[np.float64],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    alpha: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    return (
        np.ascontiguousarray(reward, dtype=np.float64),
        np.ascontiguousarray(start, dtype=np.int64),
        np.ascontiguousarray(length, dtype=np.int64),
        np.ascontiguousarray(alpha, dtype=np.float64),
    )


def rescorla_wagner_units(
    reward: NDArray[np.float64],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    alpha: NDArray[np.float64],
    v0: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(v_pre, delta, v_post), each (n,), of Rescorla-Wagner run separately over each unit.

    reward: (n,) float64, units concatenated; start, length: (u,) int64, each unit's rows;
    alpha: (u,) float64, each unit's learning rate. Per unit, from V₁ = v₀:

        v_preₜ = Vₜ,    deltaₜ = rₜ − Vₜ,    v_postₜ = Vₜ₊₁ = α·rₜ + (1 − α)·Vₜ

    Rows outside every unit are left as they were allocated (np.empty): callers cover all rows.
    """
    args = _arguments(reward, start, length, alpha)
    n = args[0].shape[0]
    v_pre, delta, v_post = np.empty(n), np.empty(n), np.empty(n)
    _rescorla_wagner_units(*args, float(v0), v_pre, delta, v_post)
    return v_pre, delta, v_post


def rescorla_wagner_values(
    reward: NDArray[np.float64],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    alpha: NDArray[np.float64],
    v0: float,
) -> NDArray[np.float64]:
    """(n,) Vₜ₊₁ only, the expectation after each response (the same bits as v_post of
    `rescorla_wagner_units`): the recurrence alone, for callers that need nothing else."""
    args = _arguments(reward, start, length, alpha)
    v_post = np.empty(args[0].shape[0])
    _rescorla_wagner_post(*args, float(v0), v_post)
    return v_post


# ---- the engagement fit: Rescorla-Wagner covariates and a logistic Newton fit per unit -------


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


@_compiled.with_options(fastmath={"reassoc"})  # sums in any order: they vectorise
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
                    c00 = h11 * h22 - h12 * h12
                    c01 = h02 * h12 - h01 * h22
                    c02 = h01 * h12 - h02 * h11
                    c11 = h00 * h22 - h02 * h02
                    c12 = h01 * h02 - h00 * h12
                    c22 = h00 * h11 - h01 * h01
                    det = h00 * c00 + h01 * c01 + h02 * c02
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


# ---- the engagement population fit: posterior moments of every unit under one prior ---------


# sums in any order, fused multiply-adds, reciprocals and the library's faster exp and log: a
# unit's moments still read its own values only, in a fixed order, so any partition of the
# units gives the same (the E-step's moments agree with numpy's to about 10⁻¹³)
@_compiled.with_options(fastmath={"reassoc", "contract", "afn", "arcp"})
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
            c00 = q11 * q22 - h12 * h12
            c01 = h02 * h12 - h01 * q22
            c02 = h01 * h12 - h02 * q11
            c11 = q00 * q22 - h02 * h02
            c12 = h01 * h02 - q00 * h12
            c22 = q00 * q11 - h01 * h01
            det = q00 * c00 + h01 * c01 + h02 * c02
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
    `models.engagement._posterior`, the same computation in numpy, block by block (which this
    matches to rounding); here one pass per unit, for the prior's fit, which needs only the
    moments. A grid point whose posterior precision is not positive definite has weight 0.
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


# ---- looking values up, fingerprinting rows ---------------------------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2⁶⁴/φ, odd: multiplying by it is a bijection


@_compiled
def _index_in(
    keys: NDArray[np.int64],
    queries: NDArray[np.int64],
    out: NDArray[np.int64],
) -> None:  # pragma: no cover - compiled; covered through `index_in`
    # open addressing with linear probing, at most half full; slots hold key positions
    m = keys.shape[0]
    bits = 3
    while (1 << bits) < 2 * m:
        bits += 1
    shift = np.uint64(64 - bits)
    mask = (1 << bits) - 1
    slots = np.full(1 << bits, -1, dtype=np.int64)
    for j in range(m):
        s = np.int64((np.uint64(keys[j]) * _GOLDEN) >> shift)
        while slots[s] >= 0:
            s = (s + 1) & mask
        slots[s] = j
    for i in range(queries.shape[0]):
        q = queries[i]
        s = np.int64((np.uint64(q) * _GOLDEN) >> shift)
        found = -1
        while slots[s] >= 0:
            if keys[slots[s]] == q:
                found = slots[s]
                break
            s = (s + 1) & mask
        out[i] = found


def index_in(keys: NDArray[np.int64], queries: NDArray[np.int64]) -> NDArray[np.int64]:
    """(n,) position of each of `queries` (n,) in `keys` (m,) distinct int64, or −1 if absent.

    A hash table on `keys`, probed once per query: O(n + m), where a sorted search costs
    O(n log m) — for 10M events against 100k user names, 1.5 s became about 0.1 s.
    """
    k = np.ascontiguousarray(keys, dtype=np.int64)
    q = np.ascontiguousarray(queries, dtype=np.int64)
    out = np.empty(q.shape[0], dtype=np.int64)
    if k.shape[0] == 0:
        out.fill(-1)
        return out
    _index_in(k, q, out)
    return out


@_compiled
def _fingerprint_rows(
    columns: tuple[NDArray[np.uint64], ...], out: NDArray[np.uint64]
) -> None:  # pragma: no cover - compiled; covered through `fingerprint_rows`
    c29, c30, c27, c31 = np.uint64(29), np.uint64(30), np.uint64(27), np.uint64(31)
    m1, m2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
    for i in range(out.shape[0]):
        h = np.uint64(0)
        for column in columns:
            h ^= column[i]
            h *= _GOLDEN
            h ^= h >> c29
        h ^= h >> c30
        h *= m1
        h ^= h >> c27
        h *= m2
        h ^= h >> c31
        out[i] = h


def fingerprint_rows(columns: list[NDArray[Any]]) -> NDArray[np.uint64]:
    """(n,) 64-bit fingerprint of each row of `columns` (each (n,), any numeric dtype).

    Per row, over the columns in order, with x the column's value as 64 bits (8-byte values
    bit for bit, narrower integers sign-extended):

        h ← h ⊕ x,   h ← h·(2⁶⁴/φ) mod 2⁶⁴,   h ← h ⊕ (h ≫ 29)

    then the splitmix64 finaliser (Steele, Lea & Flood 2014). One pass over the rows.
    """
    n = columns[0].shape[0] if columns else 0
    as_bits = tuple(
        np.ascontiguousarray(
            c.view(np.uint64) if c.dtype.itemsize == 8 else c.astype(np.int64).view(np.uint64)
        )
        for c in columns
    )
    out = np.empty(n, dtype=np.uint64)
    _fingerprint_rows(as_bits, out)
    return out


# ---- ordering events ----------------------------------------------------------------------


@_compiled
def _bucket_time_order(
    key: NDArray[np.int64],
    t: NDArray[np.float64],
    keys_per_bucket: int,
    buckets: int,
    out: NDArray[np.int64],
) -> None:  # pragma: no cover - compiled; covered through `bucket_time_order`
    n = key.shape[0]
    keys = buckets * keys_per_bucket
    # a stable counting sort by key: positions stay in order among equal keys
    start = np.zeros(keys + 1, dtype=np.int64)
    for i in range(n):
        start[key[i] + 1] += 1
    for k in range(keys):
        start[k + 1] += start[k]
    fill = start[:-1].copy()
    for i in range(n):
        k = key[i]
        out[fill[k]] = i
        fill[k] += 1
    # then each bucket stably by t: usually in order already (logs arrive in time order)
    buffer = np.empty(0, dtype=np.int64)
    for b in range(buckets):
        lo, hi = start[b * keys_per_bucket], start[(b + 1) * keys_per_bucket]
        ordered = True
        for j in range(lo + 1, hi):
            if t[out[j]] < t[out[j - 1]]:
                ordered = False
                break
        if ordered:
            continue
        if hi - lo <= 32:  # insertion sort: a row moves only past rows with a later time
            for j in range(lo + 1, hi):
                row = out[j]
                at = t[row]
                k = j
                while k > lo and at < t[out[k - 1]]:
                    out[k] = out[k - 1]
                    k -= 1
                out[k] = row
            continue
        # bottom-up merge sort; on ties the left run's row goes first, so it is stable
        size = hi - lo
        if buffer.shape[0] < size:
            buffer = np.empty(size, dtype=np.int64)
        source, target = out[lo:hi], buffer[:size]
        width = 1
        while width < size:
            for left in range(0, size, 2 * width):
                mid = min(left + width, size)
                right = min(left + 2 * width, size)
                i, j, k = left, mid, left
                while i < mid and j < right:
                    if t[source[j]] < t[source[i]]:
                        target[k] = source[j]
                        j += 1
                    else:
                        target[k] = source[i]
                        i += 1
                    k += 1
                while i < mid:
                    target[k] = source[i]
                    i += 1
                    k += 1
                while j < right:
                    target[k] = source[j]
                    j += 1
                    k += 1
            source, target = target, source
            width *= 2
        out[lo:hi] = source


def bucket_time_order(
    key: NDArray[np.int64], t: NDArray[np.float64], *, keys_per_bucket: int, keys: int
) -> NDArray[np.int64]:
    """(n,) the stable order of rows by (key // keys_per_bucket, t, key, position).

    key: (n,) int64 in [0, keys), keys a multiple of keys_per_bucket; t: (n,) float64, no NaN
    (NaN compares false both ways, so its rows would not move). A counting sort by key, then
    within each bucket of keys a stable merge sort by t alone — so rows of equal time keep
    their key order, then their positions. A bucket already in time order (the usual case for
    a log) is only checked. O(n + keys) plus the sorting of the buckets out of order.
    """
    k = np.ascontiguousarray(key, dtype=np.int64)
    out = np.empty(k.shape[0], dtype=np.int64)
    if k.shape[0]:
        _bucket_time_order(
            k, np.ascontiguousarray(t, dtype=np.float64), keys_per_bucket,
            keys // keys_per_bucket, out,
        )  # fmt: skip
    return out


@_compiled
def _key_order(
    keys: NDArray[np.uint64], bits: int, out: NDArray[np.int64]
) -> None:  # pragma: no cover - compiled; covered through `key_order`
    n = keys.shape[0]
    shift = np.uint64(64 - bits)
    start = np.zeros((1 << bits) + 1, dtype=np.int64)
    for i in range(n):
        start[np.int64(keys[i] >> shift) + 1] += 1
    for b in range(1 << bits):
        start[b + 1] += start[b]
    fill = start[:-1].copy()
    held = np.empty(n, dtype=np.uint64)  # the keys in bucket order, beside `out`
    for i in range(n):
        bucket = np.int64(keys[i] >> shift)
        out[fill[bucket]] = i
        held[fill[bucket]] = keys[i]
        fill[bucket] += 1
    for b in range(1 << bits):
        lo, hi = start[b], start[b + 1]
        if hi - lo <= 32:  # insertion sort, stable
            for j in range(lo + 1, hi):
                key, row = held[j], out[j]
                k = j
                while k > lo and key < held[k - 1]:
                    held[k] = held[k - 1]
                    out[k] = out[k - 1]
                    k -= 1
                held[k] = key
                out[k] = row
        else:
            within = np.argsort(held[lo:hi], kind="mergesort")
            out[lo:hi] = out[lo:hi][within]


def key_order(keys: NDArray[np.uint64]) -> NDArray[np.int64]:
    """(n,) the stable order of `keys` (n,) uint64: `np.argsort(keys, kind="stable")`.

    For keys spread evenly over 64 bits (hashes): a counting sort by their top bits into
    buckets of about 8 keys, each then sorted by insertion (or a merge sort when large, so
    many equal keys cost n log n, not n²). About 4× faster than numpy's sort of 10M hashes.
    """
    k = np.ascontiguousarray(keys, dtype=np.uint64)
    n = k.shape[0]
    out = np.empty(n, dtype=np.int64)
    if n:
        _key_order(k, max(1, min(24, n.bit_length() - 3)), out)
    return out


@_compiled
def _group_rows(
    key: NDArray[np.int64], rows: NDArray[np.int64], keys: int, out: NDArray[np.int64]
) -> None:  # pragma: no cover - compiled; covered through `group_rows`
    start = np.zeros(keys + 1, dtype=np.int64)
    for i in range(rows.shape[0]):
        start[key[rows[i]] + 1] += 1
    for k in range(keys):
        start[k + 1] += start[k]
    for i in range(rows.shape[0]):
        row = rows[i]
        k = key[row]
        out[start[k]] = row
        start[k] += 1


def group_rows(key: NDArray[np.int64], rows: NDArray[np.int64], keys: int) -> NDArray[np.int64]:
    """`rows` (m,) regrouped by key[row] (key in [0, keys)), keeping their order within a key:
    a stable counting sort, `rows[np.argsort(key[rows], kind="stable")]` in linear time."""
    k = np.ascontiguousarray(key, dtype=np.int64)
    r = np.ascontiguousarray(rows, dtype=np.int64)
    out = np.empty(r.shape[0], dtype=np.int64)
    if r.shape[0]:
        _group_rows(k, r, keys, out)
    return out


# ---- life tables of a schedule --------------------------------------------------------------


@_compiled
def _life_table_counts(
    win: NDArray[np.bool_],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    session_first: NDArray[np.int32],
    day_first: NDArray[np.int32],
    days: NDArray[np.int32],
    t: NDArray[np.float64],
    tempo: NDArray[np.int32],
    rate: NDArray[np.float64],
    shape: NDArray[np.int64],
    bins: NDArray[np.float64],
    count: NDArray[np.int64],
    session: NDArray[np.int64],
    daily: NDArray[np.int64],
    clock: NDArray[np.int64],
    tempo_table: NDArray[np.int64],
    expected: NDArray[np.float64],
    open_span: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled; covered through `life_table_counts`
    k_max, n_day, undefined, n_time = shape[0], shape[1], shape[2], shape[3]
    scale, offset = np.float32(bins[0]), np.float32(bins[1])
    log10_min, per_decade = bins[2], bins[3]
    low, high = np.float32(-0.5), np.float32(n_time - 0.5)
    half, margin = np.float32(0.5), np.float32(0.5 - 1e-3)
    for u in range(start.shape[0]):
        first = start[u]
        last = -1  # the unit's latest valuable outcome so far
        for i in range(first, first + length[u]):
            w = 1 if win[i] else 0
            run_first = max(last + 1, first)
            k_bin = min(i - run_first, k_max)
            k_session = min(i - max(run_first, session_first[i]), k_max)
            k_daily = min(i - max(run_first, day_first[i]), k_max)
            after = 1 if last >= 0 else 0
            count[k_bin * 4 + after * 2 + w] += 1
            session[k_session * 2 + w] += 1
            daily[k_daily * 2 + w] += 1
            if after:
                # the time bin of `models.schedule._finite_time_bin`, step for step: a
                # single-precision logarithm, redone in double precision near a bin's edge
                x = t[i] - t[last]
                z = np.float32(np.float32(np.log(np.float32(x))) * scale) + offset
                z = min(max(z, low), high)
                whole = np.float32(np.floor(z))
                if abs(np.float32(np.float32(z - whole) - half)) < margin:
                    e_bin = max(np.int64(whole), 0)
                else:
                    exact = np.floor((np.log10(max(x, 1e-300)) - log10_min) * per_decade)
                    e_bin = min(max(np.int64(exact) + 1, 0), n_time - 1)
                gap_local = min(max(days[i, 0] - days[last, 0], 0), 2)
                gap_utc = min(max(days[i, 1] - days[last, 1], 0), 2)
                day = gap_local * n_day + gap_utc
            else:
                e_bin = undefined
                day = n_day * n_day - 1
            clock[(e_bin * n_day * n_day + day) * 2 + w] += 1
            tempo_table[tempo[i] * 2 + w] += 1
            expected[tempo[i]] += rate[u]
            if w:
                last = i
        end = first + length[u] - 1
        open_span[u] = t[end] - t[last] if last >= 0 else np.nan


def life_table_counts(
    win: NDArray[np.bool_],
    start: NDArray[np.int64],
    length: NDArray[np.int64],
    session_first: NDArray[np.int32],
    day_first: NDArray[np.int32],
    days: NDArray[np.int32],
    t: NDArray[np.float64],
    tempo: NDArray[np.int32],
    rate: NDArray[np.float64],
    *,
    shape: tuple[int, int, int, int, int, int],
    bins: tuple[float, float, float, float],
) -> tuple[NDArray[Any], ...]:
    """The life-table histograms of one definition of a valuable outcome, in one pass over
    the responses (units' rows in time order): see `models.schedule._outcome_tables`, which
    assembles the tables from them.

    shape: (K_MAX, N_DAY, TIME_UNDEFINED, N_TIME, N_TIME_ALL, N_TENURE); bins: the time bin's
    single-precision scale and offset, then TIME_LOG10_MIN and TIME_PER_DECADE.
    Returns (count (N_COUNT·4), session, daily (N_COUNT·2), clock (N_TIME_ALL·N_DAY²·2),
    tempo (N_TIME_ALL·N_TENURE·2), expected (N_TIME_ALL·N_TENURE) float, open_span (u,): time
    from each unit's last valuable outcome to its last response, NaN when it had none).
    """
    k_max, n_day, _, _, n_time_all, n_tenure = shape
    n_count = k_max + 1
    count = np.zeros(n_count * 4, dtype=np.int64)
    session = np.zeros(n_count * 2, dtype=np.int64)
    daily = np.zeros(n_count * 2, dtype=np.int64)
    clock = np.zeros(n_time_all * n_day * n_day * 2, dtype=np.int64)
    tempo_table = np.zeros(n_time_all * n_tenure * 2, dtype=np.int64)
    expected = np.zeros(n_time_all * n_tenure, dtype=np.float64)
    open_span = np.empty(start.shape[0], dtype=np.float64)
    _life_table_counts(
        np.ascontiguousarray(win, dtype=np.bool_),
        np.ascontiguousarray(start, dtype=np.int64),
        np.ascontiguousarray(length, dtype=np.int64),
        np.ascontiguousarray(session_first, dtype=np.int32),
        np.ascontiguousarray(day_first, dtype=np.int32),
        np.ascontiguousarray(days, dtype=np.int32),
        np.ascontiguousarray(t, dtype=np.float64),
        np.ascontiguousarray(tempo, dtype=np.int32),
        np.ascontiguousarray(rate, dtype=np.float64),
        np.array(shape[:4], dtype=np.int64),
        np.array(bins, dtype=np.float64),
        count, session, daily, clock, tempo_table, expected, open_span,
    )  # fmt: skip
    return count, session, daily, clock, tempo_table, expected, open_span


def load_analysis_kernels() -> None:
    """Compile (or load from numba's cache) the kernels an analysis runs, by running each once
    on a few rows — for a worker process started ahead of its first partition."""
    bucket_time_order(np.array([1, 0]), np.array([0.0, 1.0]), keys_per_bucket=2, keys=2)
    one = np.ones(1, dtype=np.int64)
    rescorla_wagner_units(np.ones(1), one * 0, one, np.full(1, 0.5), 0.0)
    yes = np.ones(1, dtype=np.bool_)
    engagement_fits(
        np.ones(1), yes, yes, one * 0, one, np.full((1, 1), 0.5), np.zeros((1, 3)),
        v0=0.0, ridge=0.01, iterations=2, tolerance=1e-5, exact=True, with_reduced=True,
    )  # fmt: skip
    first = np.zeros(1, dtype=np.int32)
    life_table_counts(
        np.ones(1, dtype=np.bool_), one * 0, one, first, first, np.zeros((1, 2), np.int32),
        np.zeros(1), first, np.zeros(1), shape=(2, 4, 3, 3, 4, 2), bins=(1.0, 1.0, -1.0, 20.0),
    )  # fmt: skip


def load_reader_kernels() -> None:
    """Compile (or load from numba's cache) the kernels that turn a read into arrays and its
    digest (`index_in`, `fingerprint_rows`, `key_order`), by running each on a few rows — on a
    side thread while a read waits for the database, so the first use does not pay for it."""
    keys = np.arange(3, dtype=np.int64)
    index_in(keys, keys)
    key_order(keys.astype(np.uint64))
    group_rows(keys, keys, 3)
    # the digest's columns, as `fingerprint_rows` receives them: ten 64-bit columns
    fingerprint_rows([keys] * 10)
