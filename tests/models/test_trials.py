"""Trials: reward attachment, sessions and censoring on hand-worked logs."""

from __future__ import annotations

import numpy as np
import pytest

from models.columns import RESPONSE, REWARD, EventColumns
from models.trials import build_trials, event_order


def _log(events: list[tuple[str, str, int, float, float]], **extra: list[object]) -> EventColumns:
    user, mech, kind, t, value = zip(*events, strict=True)
    return EventColumns.from_arrays(
        user_id=list(user),
        mechanic=list(mech),
        kind=list(kind),
        t=list(t),
        value=list(value),
        **extra,  # type: ignore[arg-type]
    )


EVENTS = [
    ("a", "slots", RESPONSE, 0.0, 0.0),
    ("a", "slots", RESPONSE, 10.0, 0.0),
    ("a", "slots", REWARD, 10.0, 5.0),  # same instant as its response: attaches to it
    ("a", "slots", REWARD, 15.0, -2.0),  # aversive, still the response at 10
    ("a", "slots", RESPONSE, 20.0, 0.0),
    ("a", "slots", REWARD, 25.0, 3.0),
    ("a", "slots", RESPONSE, 5000.0, 0.0),  # after a 30-minute gap: new session
    ("a", "slots", REWARD, -5.0, 9.0),  # before any response: orphan
    ("b", "slots", RESPONSE, 100.0, 0.0),
    ("b", "daily", RESPONSE, 50.0, 0.0),
    ("b", "daily", REWARD, 60.0, 0.0),  # "nothing this time": rewarded but no gain
]


def test_rewards_attach_to_latest_response_of_same_user_and_mechanic() -> None:
    tr = build_trials(_log(EVENTS), session_gap_s=1800.0, observed_until=5100.0)
    # units sorted by (mechanic, user): daily/b, slots/a, slots/b
    assert [tr.mechanics[m] for m in tr.unit_mechanic] == ["daily", "slots", "slots"]
    assert [tr.user_ids[u] for u in tr.unit_user] == ["b", "a", "b"]
    np.testing.assert_array_equal(tr.units.length, [1, 4, 1])
    np.testing.assert_array_equal(tr.t, [50.0, 0.0, 10.0, 20.0, 5000.0, 100.0])
    np.testing.assert_array_equal(tr.gain, [0.0, 0.0, 5.0, 3.0, 0.0, 0.0])
    np.testing.assert_array_equal(tr.loss, [0.0, 0.0, 2.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(tr.reward, [0.0, 0.0, 3.0, 3.0, 0.0, 0.0])
    np.testing.assert_array_equal(tr.rewarded, [True, False, True, True, False, False])
    assert tr.orphan_rewards[tr.mechanics.index("slots")] == 1


def test_sessions_continuation_and_censoring() -> None:
    tr = build_trials(_log(EVENTS), session_gap_s=1800.0, observed_until=5100.0)
    np.testing.assert_array_equal(tr.continued, [False, True, True, False, False, False])
    # a's last response at 5000 is within one gap of the window's end: unobservable
    np.testing.assert_array_equal(tr.censored, [False, False, False, False, True, False])
    np.testing.assert_array_equal(tr.sessions.length, [1, 3, 1, 1])


def test_explicit_session_ids_override_the_gap() -> None:
    events = [
        ("a", "m", RESPONSE, 0.0, 0.0),
        ("a", "m", RESPONSE, 5.0, 0.0),
        ("a", "m", RESPONSE, 9.0, 0.0),
    ]
    cols = _log(events, session_id=["s1", "s2", None])
    tr = build_trials(cols, session_gap_s=1800.0, observed_until=1e9)
    # s1 → s2 is a new session although 5 s apart; s2 → (no id) falls back to the gap rule
    np.testing.assert_array_equal(tr.continued, [False, True, False])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_event_order_does_not_matter(seed: int) -> None:
    cols = _log(EVENTS)
    perm = np.random.default_rng(seed).permutation(len(cols))
    a = build_trials(cols, session_gap_s=1800.0, observed_until=5100.0)
    b = build_trials(cols.take(perm), session_gap_s=1800.0, observed_until=5100.0)
    np.testing.assert_array_equal(a.t, b.t)
    np.testing.assert_array_equal(a.reward, b.reward)
    np.testing.assert_array_equal(a.continued, b.continued)


@pytest.mark.parametrize("resolution", [0.0, 1.0, 3600.0])
def test_event_order_is_the_lexicographic_order(resolution: float) -> None:
    rng = np.random.default_rng(4)
    n = 20_000
    group = rng.integers(0, 300, n).astype(np.int64)
    t = 1.7e9 + rng.uniform(0, 86_400 * 3, n)
    if resolution:
        t = np.floor(t / resolution) * resolution  # many ties, broken by kind then position
    kind = (rng.random(n) < 0.4).astype(np.int8)
    np.testing.assert_array_equal(event_order(group, t, kind), np.lexsort((kind, t, group)))
    t[5] = np.nan  # the fallback
    np.testing.assert_array_equal(event_order(group, t, kind), np.lexsort((kind, t, group)))
