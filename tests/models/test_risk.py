"""Risk tiers: points from flagged markers, each flag a controlled discovery with its effect."""

from __future__ import annotations

import numpy as np
from scipy.stats import false_discovery_control

from models.markers import night_sessions_test
from models.risk import MARKERS, TIERS, benjamini_hochberg, heavy_spender, risk_tiers
from models.segments import Segments


def _tiers(**changes: np.ndarray) -> object:
    nan = np.full(4, np.nan)
    base = {
        "group": np.zeros(4, dtype=np.int64),
        "chase_effect": nan,
        "chase_p": nan,
        "heavy": np.zeros(4, dtype=bool),
        "spend": np.zeros(4),
        "night_session_share": nan,
        "night_p": nan,
        "session_escalation": nan,
        "session_escalation_p": nan,
        "frequency_escalation": nan,
        "frequency_escalation_p": nan,
        "discount_k": nan,
    }
    return risk_tiers(**(base | changes))


def test_tiers_sum_marker_points() -> None:
    nan = np.nan
    tiers = risk_tiers(
        group=np.zeros(4, dtype=np.int64),
        chase_effect=np.array([0.5, 0.4, 0.4, nan]),
        chase_p=np.array([0.6, 0.001, 0.001, nan]),
        heavy=np.array([False, False, True, False]),
        spend=np.array([1.0, 1.0, 9.0, 0.0]),
        night_session_share=np.array([0.1, 0.7, nan, 0.1]),
        night_p=np.array([0.9, 0.001, nan, 0.9]),
        session_escalation=np.array([nan, 0.1, 1.0, nan]),
        session_escalation_p=np.array([nan, 0.2, 0.001, nan]),
        frequency_escalation=np.array([nan, nan, nan, nan]),
        frequency_escalation_p=np.array([nan, nan, nan, nan]),
        discount_k=np.array([nan, nan, nan, 1.0]),
    )
    # user 0: nothing; user 1: loss chasing (2) + night (1) = 3; user 2: loss chasing (2) +
    # heavy spender (2) + escalation (1) = 5; user 3: steep discounting (1)
    assert [TIERS[t] for t in tiers.tier] == ["none", "medium", "high", "low"]
    assert tiers.raised_by(1) == ["loss_chasing", "night_play"]
    assert tiers.raised_by(2) == ["loss_chasing", "heavy_spender", "session_escalation"]
    assert tiers.raised_by(3) == ["steep_discounting"]
    # tested: chasing for users 0–2, spend for 0–2, night for 0, 1, 3
    assert tiers.tested[:, 0].tolist() == [True, True, True, False]
    assert tiers.tested[:, 2].tolist() == [True, True, False, True]


def test_a_significant_flag_needs_its_effect_and_an_effect_needs_significance() -> None:
    # escalation: significant but small (user 0), large but noisy (user 1), both (user 2)
    tiers = _tiers(
        session_escalation=np.array([0.1, 1.0, 1.0, np.nan]),
        session_escalation_p=np.array([1e-6, 0.4, 1e-6, np.nan]),
    )
    assert tiers.flags[:, 3].tolist() == [False, False, True, False]  # type: ignore[attr-defined]


def test_benjamini_hochberg_by_hand_and_against_scipy() -> None:
    # m = 4, q = 0.1: cut-offs 0.025, 0.05, 0.075, 0.1 → the three smallest are discoveries
    p = np.array([0.03, 0.5, 0.01, 0.02])
    assert benjamini_hochberg(p, np.zeros(4, dtype=np.int64), 0.1).tolist() == [
        True, False, True, True,
    ]  # fmt: skip
    rng = np.random.default_rng(0)
    for _ in range(50):
        m = int(rng.integers(1, 200))
        p = np.where(rng.random(m) < 0.3, rng.random(m) * 1e-3, rng.random(m))
        expected = false_discovery_control(p, method="bh") <= 0.1
        assert (benjamini_hochberg(p, np.zeros(m, dtype=np.int64), 0.1) == expected).all()


def test_benjamini_hochberg_runs_per_mechanic_and_skips_untested() -> None:
    p = np.array([0.001, 0.001, np.nan, 0.04, 0.04])
    group = np.array([0, 0, 0, 1, 1])
    # mechanic 0: two tested, both discoveries; mechanic 1: 0.04 ≤ 0.05 and 0.1 → both
    assert benjamini_hochberg(p, group, 0.1).tolist() == [True, True, False, True, True]


def test_benjamini_hochberg_controls_false_discoveries_under_the_null() -> None:
    rng = np.random.default_rng(1)
    runs = [
        benjamini_hochberg(rng.random(80), np.zeros(80, dtype=np.int64)).any() for _ in range(400)
    ]
    # under the global null, P(any discovery) ≤ q = 0.1
    assert np.mean(runs) <= 0.13


def test_heavy_spenders_are_the_top_percent_of_each_mechanic() -> None:
    spend = np.concatenate([np.arange(1.0, 201.0), np.zeros(5), [5.0]])
    group = np.concatenate([np.zeros(205, dtype=np.int64), [1]])
    heavy = heavy_spender(spend, group)
    assert heavy[:200].sum() == 2  # the top 1 % of 200 spenders
    assert heavy[199]
    assert heavy[198]
    assert not heavy[197]
    assert not heavy[200:205].any()  # non-spenders never
    assert not heavy[205]  # one spender alone: not a top 1 % of anyone
    # the top 1 % of 99 spenders holds nobody whole; of 100, the top spender
    assert not heavy_spender(np.arange(1.0, 100.0), np.zeros(99, dtype=np.int64)).any()
    assert heavy_spender(np.arange(1.0, 101.0), np.zeros(100, dtype=np.int64)).sum() == 1


def test_equal_spenders_are_never_heavy() -> None:
    for n in (40, 100, 5000):
        assert not heavy_spender(np.full(n, 10.0), np.zeros(n, dtype=np.int64)).any()


def test_ties_are_split_evenly_and_a_whale_is_still_heavy() -> None:
    # 99 equal spenders and one whale: the whale's rank from the top is 1 ≤ 1 % of 100
    spend = np.concatenate([np.full(99, 10.0), [5000.0]])
    heavy = heavy_spender(spend, np.zeros(100, dtype=np.int64))
    assert heavy.tolist() == [False] * 99 + [True]
    # three whales tied at the top of 100: each at mid-rank 2 > 1 → the top 1 % is a part of
    # each, and none of them alone is in it
    spend = np.concatenate([np.full(97, 10.0), [5000.0] * 3])
    assert not heavy_spender(spend, np.zeros(100, dtype=np.int64)).any()
    # … of 200 spenders the three fit (mid-rank 2 ≤ 2)
    spend = np.concatenate([np.full(197, 10.0), [5000.0] * 3])
    assert heavy_spender(spend, np.zeros(200, dtype=np.int64))[-3:].all()


def test_every_user_tested_for_night_play_can_be_flagged() -> None:
    # 12 users with 8 sessions of 2 responses each, every session at 02:00 local: too few
    # responses for a response share, but a clear test on sessions, and the flag follows it
    users, sessions, per = 12, 8, 2
    n = users * sessions * per
    night = np.ones(n, dtype=bool)
    units = Segments.from_lengths(np.full(users, sessions * per))
    test = night_sessions_test(
        night, night, Segments.from_lengths(np.full(users * sessions, per)), units, 5, 0.25
    )
    nan = np.full(users, np.nan)
    tiers = risk_tiers(
        group=np.zeros(users, dtype=np.int64),
        chase_effect=nan,
        chase_p=nan,
        heavy=np.zeros(users, dtype=bool),
        spend=np.zeros(users),
        night_session_share=test.effect + 0.25,
        night_p=test.p_value,
        session_escalation=nan,
        session_escalation_p=nan,
        frequency_escalation=nan,
        frequency_escalation_p=nan,
        discount_k=nan,
    )
    night_column = [name for name, _ in MARKERS].index("night_play")
    assert tiers.tested[:, night_column].all()
    assert tiers.flags[:, night_column].all()
