"""Markers: every marker against a hand-worked case, and the learners behind RPE persistence."""

from __future__ import annotations

import numpy as np
import pytest

from models import markers as mk
from models.segments import Segments
from models.validate import MARKER_CASES, MarkerCase


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
