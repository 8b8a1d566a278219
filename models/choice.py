"""Per-user choice model: Rescorla-Wagner values with a softmax choice rule.

As hBayesDM `bandit2arm_delta` (Ahn, Haines & Zhang 2017; Erev et al. 2010), generalised to
K options. Each option o has a value Q_o, starting at v₀; on trial t the user chooses cₜ with

    P(cₜ = o) = exp(β·Q_o) / Σ_k exp(β·Q_k),

then learns from the outcome rₜ of the chosen option only:

    δₜ = rₜ − Q_cₜ,    Q_cₜ ← Q_cₜ + α·δₜ.

Every option's values follow Rescorla-Wagner along the trials on which it was chosen, so for a
given α all units and options are one linear filter over the trials sorted by (unit, option,
time); the value of each option before each trial is a forward fill within the unit.

Maximum likelihood for all units at once (Wilson & Collins 2019): a profile over a logit grid
of α with β maximised per unit by a safeguarded Newton iteration (the log-likelihood is
concave in β), then a joint (α, β) Newton refinement per unit with exact first and second
derivatives — ∂Q/∂α and ∂²Q/∂α² obey linear recurrences of their own,

    Q'ₙ = (1−α)·Q'ₙ₋₁ + (rₙ − Qₙ₋₁),    Q''ₙ = (1−α)·Q''ₙ₋₁ − 2·Q'ₙ₋₁,

run with the per-unit prefix scan — with Levenberg-Marquardt damping inside the bounds
0 ≤ α ≤ 1, 0 ≤ β ≤ beta_max. The α interval is the profile-likelihood interval. These per-unit
maximum-likelihood fits are noisy at a few hundred trials, and β runs to its bound whenever a
unit's choices are nearly deterministic.

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
from scipy.special import expit, logit, logsumexp, xlogy

from models.expectation import filter_rows, linear_recurrence
from models.profile import (
    UnitGrids,
    alpha_grid,
    parabolic_peak,
    profile_interval,
    quantiles_on_cells,
)
from models.segments import RowLayout, Segments, previous_index

FITTED, INSUFFICIENT_DATA, NO_VARIATION = 0, 1, 2
STATUS_NAMES: tuple[str, ...] = ("fitted", "insufficient_data", "no_variation")


@dataclass(frozen=True, kw_only=True)
class ChoiceConfig:
    """Hyperparameters of the choice fit.

    alpha_grid, alpha_min, alpha_max: logit grid for the α profile
    beta_max:   upper bound of β (hBayesDM bounds τ to [0, 5] for 0/1 outcomes; products'
                outcomes are rescaled to unit size, and 50 leaves room for near-greedy users)
    v0:         initial value of every option (hBayesDM: 0)
    iterations: maximum refinement iterations
    tolerance:  convergence threshold on the parameter step
    grid_points: points per axis of the (logit α, log β) grid of the population fit; the
                grid spans logit(alpha_min)..logit(alpha_max) and log(beta_min)..log(beta_max)
    em_iterations, em_tolerance: cap on EM updates and threshold on the change of μ and Σ
    min_population: fewer fitted units than this → a fixed broad prior instead of EM
    """

    alpha_grid: int = 25
    alpha_min: float = 0.01
    alpha_max: float = 0.99
    beta_max: float = 50.0
    v0: float = 0.0
    iterations: int = 60
    tolerance: float = 1e-9
    grid_points: int = 25
    beta_min: float = 0.05
    em_iterations: int = 500
    em_tolerance: float = 1e-6
    min_population: int = 10


@dataclass(frozen=True, kw_only=True)
class ChoiceFit:
    """Per-unit results, (u,) arrays; NaN where not fitted.

    status:     FITTED, INSUFFICIENT_DATA or NO_VARIATION (one option only)
    n_choices:  choice trials; alpha, alpha_lo, alpha_hi: α and its 95 % profile interval
    beta:       inverse temperature; loglik: maximised log-likelihood
    loglik_null: log-likelihood of uniformly random choice (β = 0): −n·log K
    loglik_pref: maximised log-likelihood of a fixed preference (no learning): Σₖ nₖ·log(nₖ/n)
    grid:       (u, G, G) float32 log-likelihood on the `grid_axes` grid minus `loglik`
    """

    status: NDArray[np.int8]
    n_choices: NDArray[np.int64]
    alpha: NDArray[np.float64]
    alpha_lo: NDArray[np.float64]
    alpha_hi: NDArray[np.float64]
    beta: NDArray[np.float64]
    loglik: NDArray[np.float64]
    loglik_null: NDArray[np.float64]
    loglik_pref: NDArray[np.float64]
    grid: NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class _Layout:
    """Index structures shared by every evaluation of one data set."""

    seg: Segments  # units over the choice trials (time order)
    perm: NDArray[np.int64]  # trials sorted by (unit, option, time)
    groups: Segments  # (unit, option) runs in that order
    rows: RowLayout  # the runs as padded rows, for exact per-run filtering
    prev: NDArray[np.int64]  # (K, m) last earlier trial of the unit that chose option k
    onehot: NDArray[np.float64]  # (K, m) chosen option indicator (option-major: reductions
    # over options are then sums of K contiguous rows, much faster than over a short last axis)
    avail: NDArray[np.bool_]  # (K, m) the option is in the unit's choice set


def _layout(
    choice: NDArray[np.int64], seg: Segments, n_options: int, n_available: NDArray[np.int64]
) -> _Layout:
    perm = np.lexsort((seg.position, choice, seg.index)).astype(np.int64)
    key = seg.index[perm] * n_options + choice[perm]
    first = np.ones(perm.shape[0], dtype=bool)
    first[1:] = key[1:] != key[:-1]
    prev = np.stack([previous_index(choice == k, seg) for k in range(n_options)])
    onehot = np.zeros((n_options, choice.shape[0]))
    onehot[choice, np.arange(choice.shape[0])] = 1.0
    avail = np.arange(n_options)[:, None] < seg.broadcast_int(n_available)[None, :]
    groups = Segments.from_first_flags(first)
    return _Layout(
        seg=seg,
        perm=perm,
        groups=groups,
        rows=RowLayout.of(groups),
        prev=prev,
        onehot=onehot,
        avail=avail,
    )


def _values_before(post: NDArray[np.float64], lay: _Layout, fill: float) -> NDArray[np.float64]:
    """(K, m) each option's value (or derivative) before each trial, from post-update values."""
    return np.where(lay.prev >= 0, post[np.maximum(lay.prev, 0)], fill)


def _softmax_terms(
    q: NDArray[np.float64], beta_rows: NDArray[np.float64], lay: _Layout
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-trial log-likelihood (m,) and choice probabilities (K, m) over available options."""
    z = np.where(lay.avail, beta_rows[None, :] * q, -np.inf)
    z_max = np.maximum.reduce(z, axis=0)
    ez = np.exp(z - z_max)
    total = np.add.reduce(ez, axis=0)
    prob = ez / total
    chosen_z = np.add.reduce(np.where(lay.onehot > 0, z, 0.0), axis=0)
    ll = chosen_z - (z_max + np.log(total))
    return ll, prob


def _over_options(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """(m,) sum over the option axis of a (K, m) array."""
    return np.asarray(np.add.reduce(x, axis=0), dtype=np.float64)


def _q_shared(
    r_rows: NDArray[np.float64], lay: _Layout, alpha: float, v0: float
) -> NDArray[np.float64]:
    """(K, m) option values before each trial at a shared α; r_rows: rewards in padded order."""
    post_sorted = lay.rows.unpad(filter_rows(r_rows, lay.rows, alpha, v0=v0))
    post = np.empty_like(post_sorted)
    post[lay.perm] = post_sorted
    return _values_before(post, lay, v0)


def _best_beta(
    q: NDArray[np.float64], lay: _Layout, beta: NDArray[np.float64], config: ChoiceConfig
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Maximise the (concave) log-likelihood over β ∈ [0, beta_max] for every unit.

    Newton steps inside a bracket that shrinks on the sign of the derivative, bisecting when
    Newton would leave it, so every unit converges.
    """
    seg = lay.seg
    q_c = _over_options(q * lay.onehot)
    lo = np.zeros(seg.count)
    hi = np.full(seg.count, config.beta_max)
    beta = np.clip(beta, lo, hi)
    for _ in range(100):
        _, prob = _softmax_terms(q, seg.broadcast(beta), lay)
        mean = _over_options(prob * q)
        var = _over_options(prob * q * q) - mean * mean
        grad = seg.sum(q_c - mean)
        curv = seg.sum(np.maximum(var, 0.0))
        lo = np.where(grad > 0, beta, lo)
        hi = np.where(grad < 0, beta, hi)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = beta + grad / curv
        inside = np.isfinite(newton) & (newton >= lo) & (newton <= hi)
        # an optimum on a bound: the derivative points out of the box there
        at_top = (hi >= config.beta_max) & ~inside & (grad > 0) & (newton >= hi)
        at_zero = (lo <= 0.0) & ~inside & (grad < 0) & (newton <= lo)
        nxt = np.where(inside, newton, 0.5 * (lo + hi))
        nxt = np.where(at_top, config.beta_max, np.where(at_zero, 0.0, nxt))
        nxt = np.where(grad == 0, beta, nxt)
        moved = np.abs(nxt - beta)
        beta = nxt
        if not seg.count or float(np.max(moved)) < config.tolerance:
            break
    ll, _ = _softmax_terms(q, seg.broadcast(beta), lay)
    return beta, seg.sum(ll)


def _derivatives(
    r: NDArray[np.float64], lay: _Layout, alpha: NDArray[np.float64], v0: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Option values before each trial and their first two α-derivatives, each (K, m)."""
    groups = lay.groups
    unit_of_group = lay.seg.index[lay.perm[groups.start]]
    a_rows = 1.0 - groups.broadcast(alpha[unit_of_group])
    first = groups.first
    rs = r[lay.perm]
    a_scan = np.where(first, 0.0, a_rows)
    alpha_rows = 1.0 - a_rows
    q_post = linear_recurrence(a_scan, alpha_rows * rs + np.where(first, a_rows * v0, 0.0))
    q_prev = np.where(first, v0, np.roll(q_post, 1))
    d1_post = linear_recurrence(a_scan, rs - q_prev)
    d1_prev = np.where(first, 0.0, np.roll(d1_post, 1))
    d2_post = linear_recurrence(a_scan, -2.0 * d1_prev)
    out = []
    for sorted_post, fill in ((q_post, v0), (d1_post, 0.0), (d2_post, 0.0)):
        post = np.empty_like(sorted_post)
        post[lay.perm] = sorted_post
        out.append(_values_before(post, lay, fill))
    return out[0], out[1], out[2]


def _evaluate(
    r: NDArray[np.float64],
    lay: _Layout,
    alpha: NDArray[np.float64],
    beta: NDArray[np.float64],
    v0: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Log-likelihood (u,), gradient (u, 2) and Hessian (u, 2, 2) in (α, β)."""
    seg = lay.seg
    q, d1, d2 = _derivatives(r, lay, alpha, v0)
    beta_rows = seg.broadcast(beta)
    ll, prob = _softmax_terms(q, beta_rows, lay)
    oh = lay.onehot
    e_q = _over_options(prob * q)
    e_d1 = _over_options(prob * d1)
    e_d2 = _over_options(prob * d2)
    var_q = _over_options(prob * q * q) - e_q * e_q
    var_d1 = _over_options(prob * d1 * d1) - e_d1 * e_d1
    cov = _over_options(prob * q * d1) - e_q * e_d1
    gap_q = _over_options(oh * q) - e_q
    gap_d1 = _over_options(oh * d1) - e_d1
    gap_d2 = _over_options(oh * d2) - e_d2
    grad = np.stack([seg.sum(beta_rows * gap_d1), seg.sum(gap_q)], axis=1)
    hess = np.empty((seg.count, 2, 2))
    hess[:, 0, 0] = seg.sum(beta_rows * gap_d2 - beta_rows * beta_rows * var_d1)
    hess[:, 0, 1] = hess[:, 1, 0] = seg.sum(gap_d1 - beta_rows * cov)
    hess[:, 1, 1] = -seg.sum(var_q)
    return seg.sum(ll), grad, hess


def _refine(
    r: NDArray[np.float64],
    lay: _Layout,
    alpha: NDArray[np.float64],
    beta: NDArray[np.float64],
    config: ChoiceConfig,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Projected Newton ascent in (α, β) inside the box, every unit at once.

    Coordinates on a bound whose gradient points out of the box are held (the active set,
    Bertsekas 1982); the free ones take a Levenberg-Marquardt-damped Newton step, accepted only
    if the log-likelihood does not fall. Stops per unit when the projected gradient vanishes
    or no step improves.
    """
    lower = np.array([0.0, 0.0])
    upper = np.array([1.0, config.beta_max])
    x = np.stack([alpha, beta], axis=1)
    ll, grad, hess = _evaluate(r, lay, x[:, 0], x[:, 1], config.v0)
    damping = np.full(x.shape[0], 1e-3)
    done = np.zeros(x.shape[0], dtype=bool)
    eye = np.eye(2)
    for _ in range(config.iterations):
        held = ((x <= lower) & (grad < 0)) | ((x >= upper) & (grad > 0))
        free = ~held
        g = np.where(free, grad, 0.0)
        scale = np.abs(np.diagonal(hess, axis1=1, axis2=2)) + 1e-9
        neg_h = -hess * (free[:, :, None] & free[:, None, :])
        system = neg_h + eye * (np.where(free, damping[:, None] * scale, 1.0))[:, None, :]
        det = system[:, 0, 0] * system[:, 1, 1] - system[:, 0, 1] * system[:, 1, 0]
        ok = (det > 0) & (system[:, 0, 0] > 0)
        # outside the concave region fall back to a scaled gradient step
        fallback = eye * (scale * (1.0 + damping[:, None]))[:, None, :]
        step = np.linalg.solve(np.where(ok[:, None, None], system, fallback), g[:, :, None])[
            :, :, 0
        ]
        proposal = np.clip(x + step, lower, upper)
        moved = np.abs(proposal - x).max(axis=1)
        ll_new, grad_new, hess_new = _evaluate(r, lay, proposal[:, 0], proposal[:, 1], config.v0)
        accept = (ll_new >= ll - 1e-12) & ~done
        x = np.where(accept[:, None], proposal, x)
        ll = np.where(accept, ll_new, ll)
        grad = np.where(accept[:, None], grad_new, grad)
        hess = np.where(accept[:, None, None], hess_new, hess)
        damping = np.where(accept, np.maximum(damping / 10.0, 1e-9), damping * 10.0)
        done |= (accept & (moved < config.tolerance)) | (damping > 1e8)
        if bool(np.all(done)):
            break
    return x[:, 0], x[:, 1], ll


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


# ------------------------------------------------------------------ population (empirical Bayes)

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
