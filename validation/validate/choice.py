"""Bar 3: recovery of the choice model's parameters, and its log-likelihood against a scipy
reference."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize
from scipy.stats import spearmanr

from models.analysis import AnalysisConfig, UserTable, analyse
from models.rules import DEFAULT_TABLE
from models.synthetic import (
    MechanicSpec,
    PopulationSpec,
    ProductSpec,
    ScheduleSpec,
    SimulatedProduct,
    simulate_product,
)
from validation.validate.schedules import _truth_index

CHOICE_MIN_SPEARMAN = 0.8  # a single set, the test suite's size


# the population (empirical-Bayes) fit at 200 trials, mean over sets of 200 users
CHOICE_TARGET_SPEARMAN = 0.9


CHOICE_MAX_BETA_BIAS = 1.0


CHOICE_MAX_LOGLIK_GAP = 1e-3


@dataclass(frozen=True, kw_only=True)
class ChoiceBar:
    """Recovery over `sets` simulated sets of users (one product each, seeds seed, seed + 1, …).

    alpha_spearman, beta_spearman: mean over the sets of Spearman(estimate, truth) per set;
    *_worst: the lowest set; *_se: the standard error of the mean over sets (a set of 200
    users has a Spearman's sampling spread of about (1 − ρ²)/√200 ≈ 0.01 of its own);
    beta_bias: mean of β̂ − β over all fitted users; alpha_coverage: share of true α inside the
    95 % interval over all fitted users; max_loglik_gap: over the first set's reference users."""

    users: int
    sets: int
    alpha_spearman: float
    alpha_spearman_worst: float
    alpha_spearman_se: float
    beta_spearman: float
    beta_spearman_worst: float
    beta_spearman_se: float
    beta_bias: float
    alpha_coverage: float
    reference_users: int
    max_loglik_gap: float  # max |ℓ̂ − ℓ̂_reference| over the reference users


def choice_product(n_users: int, trials: int, seed: int) -> SimulatedProduct:
    """Two options paying 1 with probability 0.7 and 0.3; α ∈ [0.05, 0.8], β ∈ [1, 10]."""
    population = PopulationSpec(
        n_users=n_users,
        responses=(trials, trials),
        exact_responses=True,
        alpha=(0.05, 0.8),
        beta=(1.0, 10.0),
        b0=(5.0, 5.0),
    )
    schedule = ScheduleSpec(
        kind="variable_ratio", option_probabilities=(0.7, 0.3), option_names=("a", "b")
    )
    spec = ProductSpec(
        mechanics=(MechanicSpec(name="bandit", schedule=schedule, population=population),)
    )
    return simulate_product(spec, seed)


def _reference_choice_fit(
    choices: NDArray[np.int64], rewards: NDArray[np.float64], beta_max: float
) -> float:
    """Maximum log-likelihood of bandit2arm_delta by scipy L-BFGS-B from several starts, with
    the likelihood written as a plain loop over trials (independent of models.choice)."""

    def negll(params: NDArray[np.float64]) -> float:
        alpha, beta = float(params[0]), float(params[1])
        q = np.zeros(2)
        total = 0.0
        for c, r in zip(choices.tolist(), rewards.tolist(), strict=True):
            z = beta * q
            total += z[c] - (z.max() + math.log(math.fsum(math.exp(v - z.max()) for v in z)))
            q[c] += alpha * (r - q[c])
        return -total

    best = math.inf
    for a0 in (0.1, 0.4, 0.8):
        for b0 in (1.0, 5.0, 15.0):
            res = minimize(negll, [a0, b0], method="L-BFGS-B", bounds=[(0.0, 1.0), (0.0, beta_max)])
            best = min(best, float(res.fun))
    return -best


def choice_bar(
    n_users: int = 200,
    *,
    seed: int = 0,
    trials: int = 200,
    reference_users: int = 30,
    sets: int = 1,
) -> ChoiceBar:
    config = AnalysisConfig()
    rho_a, rho_b, bias, covered, users_fitted = [], [], [], [], 0
    gaps: list[float] = []
    for k in range(sets):
        product = choice_product(n_users, trials, seed + k)
        analysis = analyse(product.events, config=config, table=DEFAULT_TABLE)
        idx = _truth_index(product, analysis)
        users = analysis.users
        fitted = users["choice_status"] == "fitted"
        a = users["choice_alpha"][fitted].astype(float)
        b = users["beta"][fitted].astype(float)
        ta, tb = product.tracks.alpha[idx][fitted], product.tracks.beta[idx][fitted]
        lo = users["choice_alpha_lo"][fitted].astype(float)
        hi = users["choice_alpha_hi"][fitted].astype(float)
        rho_a.append(float(spearmanr(a, ta)[0]))
        rho_b.append(float(spearmanr(b, tb)[0]))
        bias.append(b - tb)
        covered.append((lo <= ta) & (ta <= hi))
        users_fitted += int(fitted.sum())
        if k == 0:
            gaps = _choice_reference_gaps(product, users, fitted, config, reference_users)
    se = math.sqrt(sets) if sets > 1 else math.nan
    return ChoiceBar(
        users=users_fitted,
        sets=sets,
        alpha_spearman=float(np.mean(rho_a)),
        alpha_spearman_worst=min(rho_a),
        alpha_spearman_se=float(np.std(rho_a, ddof=1)) / se if sets > 1 else math.nan,
        beta_spearman=float(np.mean(rho_b)),
        beta_spearman_worst=min(rho_b),
        beta_spearman_se=float(np.std(rho_b, ddof=1)) / se if sets > 1 else math.nan,
        beta_bias=float(np.concatenate(bias).mean()),
        alpha_coverage=float(np.concatenate(covered).mean()),
        reference_users=len(gaps),
        max_loglik_gap=max(gaps) if gaps else math.nan,
    )


def _choice_reference_gaps(
    product: SimulatedProduct,
    users: UserTable,
    fitted: NDArray[np.bool_],
    config: AnalysisConfig,
    reference_users: int,
) -> list[float]:
    """|ℓ̂ − ℓ̂_reference| of the first fitted users, the reference fit on their raw trials."""
    cols = product.events
    resp = cols.kind == 0
    gaps = []
    for row in np.flatnonzero(fitted)[:reference_users]:
        u = product.events.user_ids.index(str(users["user_id"][row]))
        mine = np.flatnonzero(resp & (cols.user == u))
        mine = mine[np.argsort(cols.t[mine], kind="stable")]
        rew = {
            float(t): float(v)
            for t, v in zip(
                cols.t[~resp & (cols.user == u)], cols.value[~resp & (cols.user == u)], strict=True
            )
        }
        rewards = np.array([rew.get(float(t), 0.0) for t in cols.t[mine]])
        ref = _reference_choice_fit(cols.option[mine].astype(np.int64), rewards, config.beta_max)
        gaps.append(abs(float(users["choice_loglik"][row]) - ref))
    return gaps
