"""Per-user choice model: Rescorla-Wagner values with a softmax choice rule.

As hBayesDM `bandit2arm_delta` (Ahn, Haines & Zhang 2017; Erev et al. 2010), generalised to
K options. Each option o has a value Q_o, starting at v₀; on trial t the user chooses cₜ with

    P(cₜ = o) = exp(β·Q_o) / Σ_k exp(β·Q_k),

then learns from the outcome rₜ of the chosen option only:

    δₜ = rₜ − Q_cₜ,    Q_cₜ ← Q_cₜ + α·δₜ.

Every option's values follow Rescorla-Wagner along the trials on which it was chosen, so for a
given α all units and options are one linear filter over the trials sorted by (unit, option,
time); the value of each option before each trial is a forward fill within the unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.choice.config import ChoiceConfig
from models.expectation import filter_rows, linear_recurrence
from models.segments import RowLayout, Segments, previous_index


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
