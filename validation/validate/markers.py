"""Bar 4: every marker on a hand-worked case."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from models import markers as mk
from models.segments import Segments


@dataclass(frozen=True, kw_only=True)
class MarkerCase:
    """A hand-worked marker value: `compute()` must return `expected` (within 1e-9)."""

    marker: str
    case: str
    expected: float
    compute: Callable[[], float]


def _one_unit(*lengths: int) -> Segments:
    return Segments.from_lengths(np.array(lengths, dtype=np.int64))


MARKER_CASES: tuple[MarkerCase, ...] = (
    # Gini of (1, 2, 3, 4): Σ(2i − n − 1)xᵢ = −3·1 − 1·2 + 1·3 + 3·4 = 10; 10 / (4·10) = 0.25
    MarkerCase(
        marker="spend_gini",
        case="costs 1, 2, 3, 4",
        expected=0.25,
        compute=lambda: mk.gini(np.array([1.0, 2.0, 3.0, 4.0])),
    ),
    # one of four users pays everything: (2·4 − 4 − 1)·1 / (4·1) = 3/4
    MarkerCase(
        marker="spend_gini",
        case="costs 0, 0, 0, 1",
        expected=0.75,
        compute=lambda: mk.gini(np.array([0.0, 0.0, 0.0, 1.0])),
    ),
    # 99 users pay 1, one pays 101: the top 1 % (one user) holds 101/200
    MarkerCase(
        marker="spend_top1_share",
        case="99 × 1 and one 101",
        expected=101 / 200,
        compute=lambda: mk.top_share(np.array([1.0] * 99 + [101.0]), 0.01),
    ),
    # 10 users pay 1..10 (total 55): the top 10 % is the user paying 10
    MarkerCase(
        marker="spend_top10_share",
        case="costs 1..10",
        expected=10 / 55,
        compute=lambda: mk.top_share(np.arange(1.0, 11.0), 0.10),
    ),
    # 23:30 UTC is 00:30 at UTC+1 (night) and 22:30 at UTC−1 (not); 05:59 UTC with no offset
    # sent is of unknown local time and left out: one night of two known responses
    MarkerCase(
        marker="night_share",
        case="23:30 UTC seen from UTC+1 and UTC−1, 05:59 UTC with no zone",
        expected=1 / 2,
        compute=lambda: float(
            mk.night_share(
                mk.is_night(
                    np.array([84600.0, 84600.0, 21540.0]),
                    np.array([3600, -3600, 0], dtype=np.int32),
                    0.0,
                    6.0,
                ),
                np.array([True, True, False]),
                _one_unit(3),
                1,
            )[0]
        ),
    ),
    # sessions of 1, 2, 4 responses at ordinals 0, ½, 1: log length 0, log 2, log 4 → slope log 4
    MarkerCase(
        marker="session_escalation",
        case="sessions of 1, 2 and 4 responses",
        expected=math.log(4.0),
        compute=lambda: float(
            mk.session_trends(
                np.array([0.0, 4000.0, 4001.0, 8000.0, 8001.0, 8002.0, 8003.0]),
                _one_unit(1, 2, 4),
                _one_unit(7),
                np.zeros(7, dtype=bool),
                3,
            ).session_escalation[0]
        ),
    ),
    # session starts at 0, 8000, 12000, 14000: gaps 8000, 4000, 2000 → −log gap rises by log 4
    MarkerCase(
        marker="frequency_escalation",
        case="gaps between sessions halve",
        expected=math.log(4.0),
        compute=lambda: float(
            mk.session_trends(
                np.array([0.0, 8000.0, 12000.0, 14000.0]),
                _one_unit(1, 1, 1, 1),
                _one_unit(4),
                np.zeros(4, dtype=bool),
                3,
            ).frequency_escalation[0]
        ),
    ),
    # waits after wins 9 s (×3), after other responses 0 s (×3): exp(log 10 − log 1) = 10
    MarkerCase(
        marker="post_reward_pause",
        case="9 s pauses after wins, none otherwise",
        expected=10.0,
        compute=lambda: float(
            mk.post_reward_pause(
                np.array([0.0, 9.0, 9.0, 18.0, 18.0, 27.0, 27.0]),
                np.array([True, False, True, False, True, False, False]),
                _one_unit(7),
            )[0]
        ),
    ),
    # payouts 3, 3, 3 | … | 1, 1, 1 per response (thirds of 9): (3 − 1)/(3 + 1) = 0.5
    MarkerCase(
        marker="front_loading",
        case="payouts 3 early, 1 late",
        expected=0.5,
        compute=lambda: float(
            mk.front_loading(np.array([3.0, 3, 3, 2, 2, 2, 1, 1, 1]), _one_unit(9), 3)[0]
        ),
    ),
    # δ = 1, −1, 2, −2, 4, 0 (|δ| early thirds: 1, 1 → mean 1 over 6; late: 4, 0 → 4 over 6)
    MarkerCase(
        marker="rpe_persistence",
        case="|δ| 1, 1 early and 4, 0 late",
        expected=2.0,
        compute=lambda: float(
            mk.rpe_persistence(np.array([1.0, -1.0, 2.0, -2.0, 4.0, 0.0]), _one_unit(6), 3)[0]
        ),
    ),
    # last half δ = −3, 1: Σδ / Σ|δ| = −2 / 4
    MarkerCase(
        marker="rpe_balance",
        case="late δ −3 and 1",
        expected=-0.5,
        compute=lambda: float(mk.rpe_balance(np.array([5.0, 5.0, -3.0, 1.0]), _one_unit(4), 2)[0]),
    ),
    # losses 0, 0, 1, 1 with α = 0.2: V⁻ after each response 0, 0, 0.2, 0.36; last half 0.28
    MarkerCase(
        marker="aversive_expectation",
        case="streak lost on the last two of four visits",
        expected=0.28,
        compute=lambda: float(
            mk.aversive_expectation(
                np.zeros(4), np.array([0.0, 0.0, 1.0, 1.0]), _one_unit(4), 0.2, 2
            )[0]
        ),
    ),
    # options a, a, b, a, none: favourite a in 3 of 4 option-carrying responses
    MarkerCase(
        marker="option_concentration",
        case="choices a, a, b, a",
        expected=0.75,
        compute=lambda: float(
            mk.option_concentration(np.array([0, 0, 1, 0, -1], dtype=np.int32), _one_unit(5))[0]
        ),
    ),
)


def _discount_case() -> float:
    from models.discounting import fit_discounting

    # waits offered symmetrically around 1000 s on the log scale; the user pays exactly when the
    # wait exceeds 1000 s, at half the reward's value: d* = 1000 s by symmetry, so
    # k = θ / ((1 − θ)·d*) = 0.5 / (0.5 · 1000) = 1e-3
    steps = 0.05 + 0.1 * np.arange(20)
    delay = 10.0 ** (3.0 + np.concatenate([-steps, steps]))
    pay = delay > 1000.0
    fit = fit_discounting(
        delay, pay, np.where(pay, 5.0, 0.0), np.full(40, 10.0), _one_unit(40), min_choices=10
    )
    return float(fit.k[0])


DISCOUNT_CASE = MarkerCase(
    marker="discount_k",
    case="pays iff the wait exceeds 1000 s at half price",
    expected=1e-3,
    compute=_discount_case,
)
