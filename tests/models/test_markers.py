"""Markers: every marker against a hand-worked case, and the learners behind RPE persistence."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.stats import ttest_ind

from models import markers as mk
from models.segments import Segments
from validation.validate import MARKER_CASES, MarkerCase


@pytest.mark.parametrize("case", MARKER_CASES, ids=lambda c: f"{c.marker}: {c.case}")
def test_hand_worked_case(case: MarkerCase) -> None:
    assert case.compute() == pytest.approx(case.expected, abs=1e-12)


def test_every_reported_marker_has_a_case() -> None:
    covered = {c.marker for c in MARKER_CASES}
    assert covered >= {
        "spend_gini",
        "spend_top1_share",
        "spend_top10_share",
        "night_share",
        "session_escalation",
        "frequency_escalation",
        "post_reward_pause",
        "front_loading",
        "rpe_persistence",
        "rpe_balance",
        "option_concentration",
        "aversive_expectation",
    }


def test_lorenz_curve_ends_and_equality() -> None:
    pop, share = mk.lorenz(np.array([2.0, 2.0, 2.0, 2.0]))
    assert pop.shape == share.shape == (101,)
    np.testing.assert_allclose(share, pop)  # equal spend: the diagonal
    _, share = mk.lorenz(np.array([0.0, 0.0, 0.0, 8.0]))
    assert share[0] == 0.0
    assert share[-1] == 1.0
    assert share[75] == pytest.approx(0.0)  # the first three quarters hold nothing


def test_night_window_may_wrap_midnight() -> None:
    hours = np.array([21.0, 23.0, 1.0, 3.0]) * 3600
    np.testing.assert_array_equal(
        mk.is_night(hours, np.zeros(4, dtype=np.int32), 22.0, 2.0), [False, True, True, False]
    )


def test_count_since_restarts_after_each_mark_and_segment() -> None:
    seg = Segments.from_lengths(np.array([5, 2]))
    mark = np.array([False, True, False, False, True, False, False])
    np.testing.assert_array_equal(mk.count_since(mark, seg), [1, 2, 1, 2, 3, 1, 2])


def test_state_learner_makes_a_fixed_ratio_predictable_but_not_a_random_one() -> None:
    # Redish 2004: a learnable schedule drives |δ| to zero, a variable one keeps it at 2p(1−p)
    rng = np.random.default_rng(0)
    seg = Segments.from_lengths(np.full(40, 300))
    fixed = ((seg.position + 1) % 4 == 0).astype(float)
    random = (rng.random(seg.rows) < 0.25).astype(float)
    for reward, low in ((fixed, True), (random, False)):
        delta = mk.state_rpe(reward, mk.count_state(reward > 0, seg), seg, 0.2)
        persistence = np.median(mk.rpe_persistence(delta, seg, 20))
        assert (persistence < 0.1) if low else (persistence > 0.8)
    late = seg.position >= 200
    delta = mk.state_rpe(random, mk.count_state(random > 0, seg), seg, 0.2)
    assert np.abs(delta[late]).mean() == pytest.approx(2 * 0.25 * 0.75, rel=0.15)


def test_undefined_markers_are_nan_not_zero() -> None:
    seg = Segments.from_lengths(np.array([2]))
    assert np.isnan(mk.night_share(np.array([True, False]), np.ones(2, dtype=bool), seg, 5)[0])
    # local time unknown: not assessable, however many responses
    seg10 = Segments.from_lengths(np.array([10]))
    assert np.isnan(mk.night_share(np.ones(10, dtype=bool), np.zeros(10, dtype=bool), seg10, 5)[0])
    assert np.isnan(mk.gini(np.zeros(3)))
    assert np.isnan(mk.top_share(np.zeros(0), 0.1))


# ---------------------------------------------------------------- loss chasing by stake


def _stake_users(
    rng: np.random.Generator, users: int, n: int, *, odds_follow_stake: bool, chase: float
) -> tuple[NDArray[np.float64], ...]:
    """Users in one long session who keep their stake (1 or 10) or, one time in three, pick one
    at random; with `chase` the probability that a user who just lost at stake 1 raises to 10
    next (a chaser), otherwise stakes ignore outcomes. With `odds_follow_stake` the big stake
    wins far more often (a "max bet")."""
    cost, net = np.empty(users * n), np.empty(users * n)
    for i in range(users):
        c = np.empty(n)
        c[0] = 1.0
        lost = False
        for t in range(n):
            if t:
                if lost and c[t - 1] == 1.0 and rng.random() < chase:
                    c[t] = 10.0
                elif rng.random() < 1.0 / 3.0:
                    c[t] = rng.choice([1.0, 10.0])
                else:
                    c[t] = c[t - 1]
            p = (0.6 if c[t] > 1 else 0.1) if odds_follow_stake else 0.35
            won = rng.random() < p
            lost = not won
            cost[i * n + t] = c[t]
            net[i * n + t] = 0.5 * c[t] if won else -c[t]
    cont = np.ones(users * n, dtype=bool)
    cont[n - 1 :: n] = False
    return cost, net, cont, np.zeros(users * n, dtype=bool)


def test_stake_chasing_is_not_fooled_by_odds_that_follow_the_stake() -> None:
    # stakes picked at random, the big stake winning more: losses come at the small stake,
    # after which any stake is a "raise" on average; compared at the same stake, nothing
    rng = np.random.default_rng(0)
    users, n = 300, 60
    cost, net, cont, cens = _stake_users(rng, users, n, odds_follow_stake=True, chase=0.0)
    test = mk.stake_chasing(cost, net, cont, cens, Segments.from_lengths(np.full(users, n)), 5)
    rate = float(np.mean(test.p_value[test.tested] < 0.05))
    assert test.tested.sum() >= 0.9 * users
    assert 0.02 <= rate <= 0.09  # the test's own level
    # the positive control: users who raise after a loss at the small stake are found
    users, n = 100, 200
    cost, net, cont, cens = _stake_users(rng, users, n, odds_follow_stake=False, chase=0.9)
    test = mk.stake_chasing(cost, net, cont, cens, Segments.from_lengths(np.full(users, n)), 5)
    assert float(np.mean(test.p_value[test.tested] < 0.05)) >= 0.7


def test_stake_chasing_is_the_fixed_effects_least_squares_loss_coefficient() -> None:
    # the effect is the loss coefficient of x on stake-level dummies and a loss indicator
    rng = np.random.default_rng(1)
    n = 80
    cost, net, cont, cens = _stake_users(rng, 1, n, odds_follow_stake=False, chase=0.5)
    test = mk.stake_chasing(cost, net, cont, cens, Segments.from_lengths(np.array([n])), 5)
    x = np.log(cost[1:] / cost[:-1])
    stake, lost = cost[:-1], net[:-1] < 0
    # the stake levels with both outcomes carry the comparison
    levels = [s for s in np.unique(stake) if lost[stake == s].any() and (~lost[stake == s]).any()]
    assert len(levels) == 2
    keep = np.isin(stake, levels)
    x, stake, lost = x[keep], stake[keep], lost[keep]
    design = np.column_stack([stake == s for s in levels] + [lost]).astype(float)
    coef = np.linalg.lstsq(design, x, rcond=None)[0]
    assert test.effect[0] == pytest.approx(coef[-1], rel=1e-9)


def test_stake_chasing_at_one_stake_is_welchs_test() -> None:
    # a user whose raises (to stake 2) always lose, so that only stake 1 has both outcomes:
    # the stratified test is then Welch's one-sided test, as scipy computes it
    rng = np.random.default_rng(2)
    n = 120
    won = rng.random(n) < 0.4
    raise_ = rng.random(n) < np.where(won, 0.2, 0.4)
    cost = np.ones(n)
    cost[1:] = np.where(raise_[:-1] & (np.arange(n - 1) % 2 == 0), 2.0, 1.0)
    net = np.where(won & (cost == 1.0), 1.0, -cost)
    cont = np.ones(n, dtype=bool)
    cont[-1] = False
    test = mk.stake_chasing(
        cost, net, cont, np.zeros(n, dtype=bool), Segments.from_lengths(np.array([n])), 5
    )
    at_one = cost[:-1] == 1.0
    x = np.log(cost[1:] / cost[:-1])[at_one]
    lost = (net[:-1] < 0)[at_one]
    ref = ttest_ind(x[lost], x[~lost], equal_var=False, alternative="greater")
    assert test.effect[0] == pytest.approx(x[lost].mean() - x[~lost].mean(), rel=1e-12)
    assert test.p_value[0] == pytest.approx(ref.pvalue, rel=1e-9)
