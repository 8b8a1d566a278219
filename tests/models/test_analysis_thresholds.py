"""The decision table is the one source of the report's thresholds: an override changes the
finding and the summaries that count at the same threshold together, never one without the
other."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from models.analysis import Analysis, AnalysisConfig, analyse
from models.rules import DEFAULT_TABLE, DecisionTable
from models.synthetic import rule_scenarios, simulate_product

COLUMNS = simulate_product(rule_scenarios(60), 5).events
BASE = analyse(COLUMNS, config=AnalysisConfig(), table=DEFAULT_TABLE)


def _mechanic(analysis: Analysis, name: str) -> dict[str, Any]:
    return next(m for m in analysis.as_dict()["mechanics"] if m["mechanic"] == name)


def _finding(analysis: Analysis, mechanic: str, rule_id: str) -> dict[str, Any] | None:
    found = [
        f
        for f in analysis.as_dict()["findings"]
        if f["mechanic"] == mechanic and f["rule_id"] == rule_id
    ]
    return found[0] if found else None


def _audit(table: DecisionTable) -> Analysis:
    return analyse(COLUMNS, config=AnalysisConfig(), table=table)


def test_a_loss_chasing_override_moves_the_finding_and_agrees_with_the_users() -> None:
    before = _finding(BASE, "loss-chasing", "loss-chasing")
    assert before is not None
    share = _mechanic(BASE, "loss-chasing")["markers"]["loss_chasing_share"]
    assert before["evidence"]["loss_chasing_share"] == share
    stricter = DEFAULT_TABLE.with_overrides({"loss-chasing.min_share": min(1.0, share + 0.01)})
    after = _audit(stricter)
    assert _finding(after, "loss-chasing", "loss-chasing") is None
    assert after.rules_version == stricter.version != BASE.rules_version
    # the users flagged, their tiers and the mechanic's share are the figures the rule reads
    chasing = _mechanic(after, "loss-chasing")
    assert chasing["markers"]["loss_chasing_share"] == share
    assert chasing["users"]["risk_tiers"] == _mechanic(BASE, "loss-chasing")["users"]["risk_tiers"]
    np.testing.assert_array_equal(after.users["risk_tier"], BASE.users["risk_tier"])
    assert list(after.user_records()) == list(BASE.user_records())


@pytest.mark.parametrize("threshold", [-0.3, -0.05, 0.2])
def test_the_negative_rpe_share_counts_at_the_anhedonia_rules_threshold(threshold: float) -> None:
    table = DEFAULT_TABLE.with_overrides({"anhedonia-signature.rpe_balance": threshold})
    analysis = BASE if table.version == DEFAULT_TABLE.version else _audit(table)
    users = analysis.users
    for mechanic in analysis.mechanics:
        rows = users["mechanic"].astype(str) == mechanic.mechanic
        balance = users["rpe_balance"][rows].astype(float)
        balance = balance[np.isfinite(balance)]
        share = mechanic.markers.get("negative_rpe_share", math.nan)
        if balance.size:
            assert share == pytest.approx(float(np.mean(balance <= threshold)))
        finding = _finding(analysis, mechanic.mechanic, "anhedonia-signature")
        if finding is not None:
            assert finding["evidence"]["negative_rpe_user_share"] == pytest.approx(share)
