"""Hyperbolic discounting from wait-or-pay choices (Mazur 1987).

A wait-or-pay offer lets the user wait a delay d for a reward of value A, or pay a price c to
have it now. A hyperbolic discounter values waiting at A / (1 + k·d) and paying at A − c, so
they pay exactly when d exceeds the indifference delay d* at which the two are equal:

    A / (1 + k·d*) = A − c    ⇔    k = θ / ((1 − θ)·d*),    θ = c / A,

the adjusting-delay logic of Mazur (1987). Per user, d* is the 50 % point of a logistic
regression of paying on log d, P(pay) = σ(a + b·log d) (b > 0 when longer waits make paying more
likely), fitted for every user at once by Newton steps made of segment sums; θ is the user's
total price paid over the total value of what they paid for. A large k means steep
discounting: paying to skip even short waits (Madden et al. 1997 found steeper discounting of
delayed money in opioid-dependent patients than in matched controls).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from models.segments import Segments

FITTED, INSUFFICIENT_DATA, NO_VARIATION, NO_PRICE, NOT_MONOTONE = 0, 1, 2, 3, 4
STATUS_NAMES: tuple[str, ...] = (
    "fitted",
    "insufficient_data",
    "no_variation",
    "no_price",
    "not_monotone",
)
RIDGE = 0.01  # N(0, 10²) prior on the log-delay slope keeps perfectly separated choices finite


@dataclass(frozen=True, kw_only=True)
class DiscountFit:
    """Per-unit results, (u,) arrays; NaN where not fitted.

    status: FITTED, INSUFFICIENT_DATA, NO_VARIATION (always waits or always pays), NO_PRICE (θ
            unknown or ≥ 1), NOT_MONOTONE (paying does not become likelier with the delay)
    n_choices, pay_share, indifference_delay_s (d*), price_share (θ), k (per second)
    """

    status: NDArray[np.int8]
    n_choices: NDArray[np.int64]
    pay_share: NDArray[np.float64]
    indifference_delay_s: NDArray[np.float64]
    price_share: NDArray[np.float64]
    k: NDArray[np.float64]


def fit_discounting(
    delay_s: NDArray[np.float64],
    pay: NDArray[np.bool_],
    cost: NDArray[np.float64],
    gain: NDArray[np.float64],
    segments: Segments,
    *,
    min_choices: int,
    iterations: int = 50,
) -> DiscountFit:
    """Fit d* and k per unit from its wait-or-pay responses (one segment per unit).

    delay_s: (m,) wait offered; pay: (m,) the user paid; cost, gain: (m,) price paid and value
    received on each response.
    """
    u = segments.count
    n = segments.length.astype(np.int64)
    y = pay.astype(np.float64)
    pays = segments.sum(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        pay_share = pays / n
        paid_value = segments.sum(np.where(pay, gain, 0.0))
        theta = np.where(
            paid_value > 0, segments.sum(np.where(pay, cost, 0.0)) / paid_value, np.nan
        )
    x = np.log(np.maximum(delay_s, 1e-3))
    centre = segments.sum(x) / n
    xc = x - segments.broadcast(centre)
    a = np.zeros(u)
    b = np.zeros(u)
    for _ in range(iterations):
        eta = segments.broadcast(a) + segments.broadcast(b) * xc
        p = expit(eta)
        wt = p * (1.0 - p)
        res = y - p
        g_a = segments.sum(res) - 1e-6 * a
        g_b = segments.sum(res * xc) - RIDGE * b
        h_aa = segments.sum(wt) + 1e-6
        h_ab = segments.sum(wt * xc)
        h_bb = segments.sum(wt * xc * xc) + RIDGE
        det = h_aa * h_bb - h_ab * h_ab
        step_a = np.clip((h_bb * g_a - h_ab * g_b) / det, -5.0, 5.0)
        step_b = np.clip((h_aa * g_b - h_ab * g_a) / det, -5.0, 5.0)
        a += step_a
        b += step_b
        if not u or float(max(np.abs(step_a).max(), np.abs(step_b).max())) < 1e-9:
            break
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d_star = np.where(b > 0, np.exp(centre - a / np.where(b > 0, b, 1.0)), np.nan)
        k = theta / ((1.0 - theta) * d_star)
    status = np.full(u, FITTED, dtype=np.int8)
    status[b <= 0] = NOT_MONOTONE
    status[~((theta > 0) & (theta < 1))] = NO_PRICE
    status[(pays == 0) | (pays == n)] = NO_VARIATION
    status[n < min_choices] = INSUFFICIENT_DATA
    ok = status == FITTED
    return DiscountFit(
        status=status,
        n_choices=n,
        pay_share=pay_share,
        indifference_delay_s=np.where(ok, d_star, np.nan),
        price_share=theta,
        k=np.where(ok, k, np.nan),
    )
