"""Choice fits (hBayesDM bandit2arm_delta): recovery, and agreement with an independent fit."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit

from models.choice import FITTED, INSUFFICIENT_DATA, NO_VARIATION, ChoiceConfig, fit_choice
from models.segments import Segments
from models.trials import build_trials
from models.validate import CHOICE_MIN_SPEARMAN, choice_bar, choice_product

CONFIG = ChoiceConfig()


def test_recovery_bars_at_test_size() -> None:
    bar = choice_bar(100, seed=1, reference_users=0)
    assert bar.alpha_spearman >= CHOICE_MIN_SPEARMAN
    assert bar.beta_spearman >= CHOICE_MIN_SPEARMAN
    assert 0.85 <= bar.alpha_coverage <= 0.99


def _independent_max_loglik(choices: list[int], rewards: list[float]) -> float:
    """Nelder-Mead on (logit α, β/β_max logit) from a grid of starts; the softmax likelihood
    written trial by trial, as in the hBayesDM Stan model."""

    def loglik(alpha: float, beta: float) -> float:
        q = [0.0, 0.0]
        total = 0.0
        for c, r in zip(choices, rewards, strict=True):
            z0, z1 = beta * q[0], beta * q[1]
            m = max(z0, z1)
            total += (z0 if c == 0 else z1) - m - math.log(math.exp(z0 - m) + math.exp(z1 - m))
            q[c] += alpha * (r - q[c])
        return total

    def neg(x: np.ndarray) -> float:
        return -loglik(float(expit(x[0])), CONFIG.beta_max * float(expit(x[1])))

    best = -math.inf
    for a0 in (-2.0, 0.0, 2.0):
        for b0 in (-4.0, -2.0, 0.0):
            res = minimize(
                neg, [a0, b0], method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-12}
            )
            best = max(best, -float(res.fun))
    # the optimum may sit on a bound, which the transformed search only approaches
    for alpha in (0.0, 1.0):

        def on_bound(x: np.ndarray, alpha: float = alpha) -> float:
            return -loglik(alpha, CONFIG.beta_max * float(expit(x[0])))

        best = max(best, -float(minimize(on_bound, [0.0]).fun))
    return best


def test_max_loglik_matches_an_independent_fit() -> None:
    product = choice_product(15, 200, seed=7)
    cols = product.columns()
    tr = build_trials(cols, session_gap_s=1800.0, observed_until=float(cols.t.max()))
    choice = tr.option.astype(np.int64)
    fit = fit_choice(
        choice, tr.reward, tr.units, n_available=np.full(15, 2), min_choices=20, config=CONFIG
    )
    for u in range(15):
        rows = slice(tr.units.start[u], tr.units.start[u] + tr.units.length[u])
        ref = _independent_max_loglik(choice[rows].tolist(), tr.reward[rows].tolist())
        assert fit.loglik[u] == pytest.approx(ref, abs=1e-3)


def test_statuses_say_why_a_user_was_not_fitted() -> None:
    seg = Segments.from_lengths(np.array([10, 40, 40]))
    choice = np.concatenate([np.arange(10) % 2, np.zeros(40), np.arange(40) % 2]).astype(np.int64)
    reward = np.ones(90)
    fit = fit_choice(
        choice, reward, seg, n_available=np.array([2, 1, 2]), min_choices=20, config=CONFIG
    )
    np.testing.assert_array_equal(fit.status, [INSUFFICIENT_DATA, NO_VARIATION, FITTED])
    assert fit.loglik_null[2] == pytest.approx(-40 * math.log(2))


def test_a_greedy_learner_is_recovered_exactly_enough() -> None:
    # one simulated user with α = 0.3, β = 8 over 2,000 trials: well identified
    rng = np.random.default_rng(0)
    q = np.zeros(2)
    choices, rewards = [], []
    for _ in range(2000):
        p1 = expit(8.0 * (q[1] - q[0]))
        c = int(rng.random() < p1)
        r = float(rng.random() < (0.7 if c == 0 else 0.3))
        q[c] += 0.3 * (r - q[c])
        choices.append(c)
        rewards.append(r)
    fit = fit_choice(
        np.array(choices),
        np.array(rewards),
        Segments.from_lengths(np.array([2000])),
        n_available=np.array([2]),
        min_choices=20,
        config=CONFIG,
    )
    assert fit.alpha[0] == pytest.approx(0.3, abs=0.1)
    assert fit.beta[0] == pytest.approx(8.0, rel=0.25)
    assert fit.alpha_lo[0] < 0.3 < fit.alpha_hi[0]
