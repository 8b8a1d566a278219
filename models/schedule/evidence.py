"""The evidence a schedule call rests on: likelihood ratios of hazard shapes (constant,
monotone, stepped), isotonic fits, and the distributions of ratios and intervals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import isotonic_regression, minimize_scalar

from models.schedule.states import N_TIME, time_bin_mid

# a step seen in fewer paid responses may be chance
STEP_MIN_WINS = 10


def _binom_ll(w: NDArray[np.float64], n: NDArray[np.float64], p: NDArray[np.float64]) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(w > 0, w * np.log(np.where(p > 0, p, 1.0)), 0.0)
        b = np.where(n - w > 0, (n - w) * np.log(np.where(p < 1, 1.0 - p, 1.0)), 0.0)
        bad = ((w > 0) & (p <= 0)) | ((n - w > 0) & (p >= 1))
    return float(-np.inf) if bool(bad.any()) else float(a.sum() + b.sum())


def _const_ll(w: NDArray[np.int64], n: NDArray[np.int64]) -> float:
    tw, tn = float(w.sum()), float(n.sum())
    if tn == 0:
        return 0.0
    return _binom_ll(np.array([tw]), np.array([tn]), np.array([tw / tn]))


def _monotone_lrs(w: NDArray[np.int64], n: NDArray[np.int64]) -> tuple[float, float]:
    """Likelihood-ratio statistics of a non-decreasing and of a non-increasing hazard against
    a constant one."""
    ll0 = _const_ll(w, n)
    _, up = _isotonic(w, n)
    _, down = _isotonic(w[::-1], n[::-1])
    return 2.0 * (up - ll0), 2.0 * (down - ll0)


def _within_lrs(w: NDArray[np.int64], expected: NDArray[np.float64]) -> tuple[float, float]:
    """Within-user likelihood-ratio statistics of a rising and of a falling relative hazard.

    Each bin's valuable outcomes are Poisson with mean ρ_b·x_b, x_b the count expected if every
    unit paid at its own constant rate (a stratified, Mantel-Haenszel-type null; Breslow & Day
    1980 ch. 4). ρ monotone is the weighted isotonic regression of w/x with weights x.
    """
    keep = expected > 1e-12
    wk, xk = w[keep].astype(np.float64), expected[keep]
    if xk.size < 2 or wk.sum() == 0:
        return 0.0, 0.0
    rho0 = wk.sum() / xk.sum()

    # x_b are float sums whose rounding depends on how users were partitioned; a statistic
    # within rounding noise of zero (relative to the log-likelihood's size) is zero
    noise = 1e-9 * max(1.0, float(wk.sum()))

    def lr(wv: NDArray[np.float64], xv: NDArray[np.float64]) -> float:
        rho = _pava(wv / xv, xv)
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(wv > 0, wv * np.log(rho / rho0), 0.0)
        stat = float(2.0 * (term.sum() - ((rho - rho0) * xv).sum()))
        return stat if stat > noise else 0.0

    return lr(wk, xk), lr(wk[::-1], xk[::-1])


def _pava(y: NDArray[np.float64], weight: NDArray[np.float64]) -> NDArray[np.float64]:
    """Weighted non-decreasing least-squares fit: pool-adjacent-violators (Ayer et al. 1955),
    by `scipy.optimize.isotonic_regression`."""
    if y.shape[0] == 0:
        return np.zeros(0)
    return np.asarray(isotonic_regression(y, weights=weight, increasing=True).x, dtype=np.float64)


def _isotonic(w: NDArray[np.int64], n: NDArray[np.int64]) -> tuple[NDArray[np.float64], float]:
    """Non-decreasing hazard fit (pool-adjacent-violators, weights n) and its log-likelihood.

    Returns the fitted rate per bin (NaN where n = 0) and the maximised log-likelihood
    (Robertson, Wright & Dykstra 1988, ch. 1).
    """
    keep = np.flatnonzero(n > 0)
    rates = np.full(n.shape[0], np.nan)
    if keep.size == 0:
        return rates, 0.0
    fitted = _pava(w[keep] / n[keep], n[keep].astype(np.float64))
    rates[keep] = fitted
    ll = _binom_ll(w[keep].astype(np.float64), n[keep].astype(np.float64), fitted)
    return rates, ll


@dataclass(frozen=True, slots=True)
class _Step:
    cut: int  # first bin of the upper level
    early_share: float  # share of valuable outcomes before the cut
    lower_rate: float
    upper_rate: float
    purity: float  # min(1 − lower_rate, upper_rate)
    loglik: float


def _step(w: NDArray[np.int64], n: NDArray[np.int64], *, straddle: bool) -> _Step | None:
    """Best two-level step in a hazard: rate ≈ 0 before the cut, ≈ 1 from it.

    With `straddle`, the bin at the cut is left out of both levels (a time bin that contains
    the step holds both unpaid and paid responses). The cut minimises misclassified responses.
    """
    wf, nf = w.astype(np.float64), n.astype(np.float64)
    size = w.shape[0]
    if wf.sum() == 0 or size <= 1:
        return None
    cw, cn = np.cumsum(wf), np.cumsum(nf)
    tw, tn = cw[-1], cn[-1]
    cuts = np.arange(1, size)
    below_w = cw[cuts - 1]
    below_n = cn[cuts - 1]
    skip_w = wf[cuts] if straddle else np.zeros(cuts.shape[0])
    skip_n = nf[cuts] if straddle else np.zeros(cuts.shape[0])
    above_w = tw - below_w - skip_w
    above_n = tn - below_n - skip_n
    errors = below_w + (above_n - above_w)
    errors = np.where(above_n > 0, errors, np.inf)
    if not np.isfinite(errors).any():
        return None
    i = int(np.argmin(errors))
    lw, ln, uw, un = below_w[i], below_n[i], above_w[i], above_n[i]
    if uw < STEP_MIN_WINS or ln < STEP_MIN_WINS:
        return None  # both levels must be observed
    lower = lw / ln if ln > 0 else 0.0
    upper = uw / un if un > 0 else 0.0
    ll = _binom_ll(np.array([lw, uw]), np.array([ln, un]), np.array([lower, upper]))
    return _Step(
        cut=int(cuts[i]),
        early_share=float(lw / max(lw + uw, 1.0)),
        lower_rate=float(lower),
        upper_rate=float(upper),
        purity=float(min(1.0 - lower, upper)),
        loglik=ll,
    )


def _poisson_interval_ll(w: NDArray[np.int64], n: NDArray[np.int64]) -> float:
    """Max log-likelihood of P(pay | τ) = 1 − exp(−λτ) over the time bins (λ fitted).

    The hazard of collecting a reward that accrues as a Poisson process of rate λ (or is armed
    after an exponential interval) τ seconds after the previous response.
    """
    mids = time_bin_mid()
    wf, nf = w[:N_TIME].astype(np.float64), n[:N_TIME].astype(np.float64)
    keep = nf > 0
    if not keep.any():
        return 0.0
    tau, wk, nk = mids[keep], wf[keep], nf[keep]

    def negll(log_lam: float) -> float:
        lam_tau = np.exp(log_lam) * tau
        p_pay = -np.expm1(-lam_tau)
        with np.errstate(divide="ignore"):
            ll = wk * np.log(np.maximum(p_pay, 1e-300)) - (nk - wk) * lam_tau
        return float(-ll.sum())

    grid = np.linspace(-25.0, 10.0, 71)
    vals = [negll(g) for g in grid]
    g0 = int(np.argmin(vals))
    lo, hi = grid[max(g0 - 1, 0)], grid[min(g0 + 1, grid.shape[0] - 1)]
    res = minimize_scalar(negll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-6})
    return float(-min(float(res.fun), vals[g0]))


def _ratio_distribution(w: NDArray[np.int64], n: NDArray[np.int64]) -> tuple[float, float, bool]:
    """Mean and CV of responses per valuable outcome from the count life table.

    P(K = k) = S(k−1)·h(k), S(k) = Πⱼ≤ₖ (1 − h(j)), with a geometric tail beyond the observed
    states at the hazard of the last quarter of them. Returns (mean, cv, complete); complete is
    False when the tail hazard is zero (mean then restricted to the observed support).
    """
    wf, nf = w.astype(np.float64), n.astype(np.float64)
    observed = np.flatnonzero(nf > 0)
    if observed.size == 0 or wf.sum() == 0:
        return float("nan"), float("nan"), False
    top = int(observed[-1])
    k = np.arange(1, top + 2, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(nf[: top + 1] > 0, wf[: top + 1] / nf[: top + 1], 0.0)
    surv = np.concatenate([[1.0], np.cumprod(1.0 - h)])
    pk = surv[:-1] * h
    m1 = float((pk * k).sum())
    m2 = float((pk * k * k).sum())
    tail = float(surv[-1])
    complete = True
    if tail > 1e-9:
        last = observed[-max(1, observed.size // 4) :]
        ht = float(wf[last].sum() / nf[last].sum())
        if ht > 0:
            # K = top+1 + G, G ~ geometric(ht) on {1, 2, …}: E = 1/ht, E[G²] = (2 − ht)/ht²
            base = top + 1.0
            e1 = base + 1.0 / ht
            e2 = base * base + 2.0 * base / ht + (2.0 - ht) / (ht * ht)
            m1 += tail * e1
            m2 += tail * e2
        else:
            complete = False
            m1 /= 1.0 - tail
            m2 /= 1.0 - tail
    var = max(m2 - m1 * m1, 0.0)
    return m1, float(np.sqrt(var) / m1) if m1 > 0 else float("nan"), complete


def _interval_distribution(
    event: NDArray[np.int64], censored: NDArray[np.int64]
) -> tuple[float, float, bool]:
    """Mean and CV of the time between valuable outcomes from an actuarial life table.

    At risk at the start of bin i: all intervals not yet ended or censored; censored ones count
    half in their bin (Cutler & Ederer 1958). Restricted to the observed support when the last
    bin still has survivors (complete = False).
    """
    d, c = event.astype(np.float64), censored.astype(np.float64)
    total = d.sum() + c.sum()
    if d.sum() == 0:
        return float("nan"), float("nan"), False
    at_start = total - np.concatenate([[0.0], np.cumsum(d + c)[:-1]])
    at_risk = at_start - c / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(at_risk > 0, np.clip(d / at_risk, 0.0, 1.0), 0.0)
    surv = np.concatenate([[1.0], np.cumprod(1.0 - h)])
    pk = surv[:-1] * h
    mids = time_bin_mid()
    mass = pk.sum()
    m1 = float((pk * mids).sum() / mass)
    m2 = float((pk * mids * mids).sum() / mass)
    var = max(m2 - m1 * m1, 0.0)
    return m1, float(np.sqrt(var) / m1), bool(surv[-1] < 1e-6 or h[np.flatnonzero(d)[-1]] >= 1.0)
