"""Risk tiers: points from flagged markers, with the markers that raised them."""

from __future__ import annotations

import numpy as np

from models.risk import TIERS, heavy_spender, risk_tiers


def test_tiers_sum_marker_points() -> None:
    nan = np.nan
    tiers = risk_tiers(
        b_delta=np.array([0.5, -2.0, -2.0, -2.0]),
        b_delta_p=np.array([0.01, 0.01, 0.01, 0.5]),
        heavy=np.array([False, False, True, False]),
        night_share=np.array([0.1, 0.7, nan, 0.1]),
        session_escalation=np.array([nan, 0.1, 1.0, nan]),
        frequency_escalation=np.array([nan, nan, nan, nan]),
        discount_k=np.array([nan, nan, nan, 1.0]),
    )
    # user 0: nothing; user 1: loss chasing (2) + night (1) = 3; user 2: loss chasing (2) +
    # heavy spender (2) + escalation (1) = 5; user 3: steep discounting (1)
    assert [TIERS[t] for t in tiers.tier] == ["none", "medium", "high", "low"]
    assert tiers.raised_by(1) == ["loss_chasing", "night_play"]
    assert tiers.raised_by(2) == ["loss_chasing", "heavy_spender", "session_escalation"]
    assert tiers.raised_by(3) == ["steep_discounting"]


def test_heavy_spenders_are_the_top_percent_of_each_mechanic() -> None:
    spend = np.concatenate([np.arange(1.0, 201.0), np.zeros(5), [5.0]])
    group = np.concatenate([np.zeros(205, dtype=np.int64), [1]])
    heavy = heavy_spender(spend, group)
    assert heavy[:200].sum() == 2  # the top 1 % of 200 spenders
    assert heavy[199]
    assert heavy[198]
    assert not heavy[197]
    assert not heavy[200:205].any()  # non-spenders never
    assert heavy[205]  # the only spender of its mechanic
