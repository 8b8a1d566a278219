"""Where a user's day ends when local time is unknown: from their reward claims."""

from __future__ import annotations

import numpy as np

from models.columns import OFFSET_UNKNOWN
from models.localtime import DAY_S, claim_day_offsets, resolve

DAYS = 10


def _every_hour() -> np.ndarray:
    """A user active in every hour of the day (no quiet stretch): responses at hh:30 UTC."""
    return (np.arange(DAYS * 24) * 3600.0 + 1800.0).astype(np.float64)


def test_the_day_boundary_is_where_the_claims_are_one_a_day_on_its_first_response() -> None:
    t = _every_hour()
    # a daily reward resetting at 03:00 UTC (local midnight at UTC−3): the 03:30 response pays
    rewarded = np.mod(t, DAY_S) == 3.5 * 3600.0
    n = t.shape[0]
    offset, confidence = claim_day_offsets(
        t, np.zeros(n, np.int64), np.zeros(n, np.int64), rewarded, np.zeros(n, np.int32)
    )
    assert set(offset.tolist()) == {-3 * 3600}
    assert confidence[0] > 0.85  # the first, partial day (before 03:00) holds no claim


def test_a_user_who_never_claims_keeps_the_prior_with_no_confidence() -> None:
    t = _every_hour()
    n = t.shape[0]
    prior = np.zeros(n, np.int32)  # the user's rhythm put their day boundary at 00:00 UTC
    offset, confidence = claim_day_offsets(
        t, np.zeros(n, np.int64), np.zeros(n, np.int64), np.zeros(n, bool), prior
    )
    assert set(offset.tolist()) == {0}
    assert confidence[0] < 0.2


def test_each_user_is_fitted_on_their_own_claims_across_their_mechanics() -> None:
    t = _every_hour()
    n = t.shape[0]
    pays_at_03 = np.mod(t, DAY_S) == 3.5 * 3600.0
    pays_at_20 = np.mod(t, DAY_S) == 20.5 * 3600.0
    # user 0: a daily reward (unit 0) and a mechanic that never pays (unit 1); user 1: another zone
    ts = np.concatenate([t, t, t])
    unit = np.repeat(np.arange(3, dtype=np.int64), n)
    user = np.array([0] * (2 * n) + [1] * n, dtype=np.int64)
    rewarded = np.concatenate([pays_at_03, np.zeros(n, bool), pays_at_20])
    offset, _ = claim_day_offsets(ts, unit, user, rewarded, np.zeros(3 * n, np.int32))
    assert set(offset[: 2 * n].tolist()) == {-3 * 3600}
    assert set(offset[2 * n :].tolist()) == {4 * 3600}  # 20:00 UTC is midnight at UTC+4
    alone, _ = claim_day_offsets(t, unit[:n], user[:n], pays_at_03, np.zeros(n, np.int32))
    np.testing.assert_array_equal(alone, offset[:n])


def test_a_sent_zero_offset_is_utc_and_only_unsent_offsets_take_the_declared_zone() -> None:
    # a London user in January sends offset 0; a Tokyo user sends nothing; the project declares
    # Asia/Tokyo: London stays at UTC (its 15:00 is not Tokyo's midnight), Tokyo gets +9 h
    t = np.array([1_768_316_400.0, 1_768_316_400.0])  # 2026-01-13 15:00 UTC
    sent = np.array([0, OFFSET_UNKNOWN], dtype=np.int32)
    offsets, known = resolve(t, sent, "Asia/Tokyo")
    assert offsets.tolist() == [0, 9 * 3600]
    assert known.tolist() == [True, True]
    # without a declared zone the sent 0 is still known and the missing one is not
    offsets, known = resolve(t, sent, None)
    assert offsets.tolist() == [0, 0]
    assert known.tolist() == [True, False]
