"""Per-user risk tiers from markers of harm, with the markers that raised them.

As in player-protection engines (Playscan, BetBuddy, Mindway GameScanner), a user's tier is a
transparent sum of flagged markers, and the report names the markers that raised it so the
score can be explained and contested (UK Gambling Commission 2023: operators must identify
the indicators behind an interaction). Weights: loss chasing and heavy spend, the strongest
single predictors of later self-exclusion in Braverman & Shaffer (2010) and Finkenwirth et al.
(2021), count 2; the other markers 1. Tiers: 0 points none, 1 low, 2–3 medium, ≥ 4 high.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

TIERS: tuple[str, ...] = ("none", "low", "medium", "high")

# user-level marker thresholds (rationale; reference)
LOSS_CHASING_P = 0.05  # b_δ < 0 rejected from 0 at 5 % (Wald); Braverman & Shaffer 2010
NIGHT_SHARE = 0.5  # half of responses between 00:00 and 06:00 local; Finkenwirth et al. 2021
ESCALATION_LOG = float(
    np.log(1.5)
)  # sessions ≥ 50 % longer or more frequent; Braverman & Shaffer 2010
HEAVY_SPENDER_QUANTILE = 0.99  # top 1 % of a mechanic's spenders; Zendle et al. 2020
HIGH_DISCOUNT_K = (
    1.0 / 3600.0
)  # pays to skip waits of about an hour or less (θ = ½); Madden et al. 1997

MARKERS: tuple[tuple[str, int], ...] = (
    ("loss_chasing", 2),
    ("heavy_spender", 2),
    ("night_play", 1),
    ("session_escalation", 1),
    ("frequency_escalation", 1),
    ("steep_discounting", 1),
)


@dataclass(frozen=True, kw_only=True)
class RiskTiers:
    """tier: (u,) index into TIERS; flags: (u, len(MARKERS)) which markers were raised."""

    tier: NDArray[np.int8]
    flags: NDArray[np.bool_]

    def raised_by(self, i: int) -> list[str]:
        return [name for (name, _), on in zip(MARKERS, self.flags[i], strict=True) if on]


def heavy_spender(spend: NDArray[np.float64], group: NDArray[np.int64]) -> NDArray[np.bool_]:
    """(u,) spend > 0 and at or above the HEAVY_SPENDER_QUANTILE of the spenders of its group
    (mechanic); group: (u,) group code, rows need not be sorted."""
    out = np.zeros(spend.shape[0], dtype=bool)
    for g in np.unique(group):
        rows = np.flatnonzero((group == g) & (spend > 0))
        if rows.size:
            cut = np.quantile(spend[rows], HEAVY_SPENDER_QUANTILE)
            out[rows] = spend[rows] >= cut
    return out


def risk_tiers(
    *,
    b_delta: NDArray[np.float64],
    b_delta_p: NDArray[np.float64],
    heavy: NDArray[np.bool_],
    night_share: NDArray[np.float64],
    session_escalation: NDArray[np.float64],
    frequency_escalation: NDArray[np.float64],
    discount_k: NDArray[np.float64],
) -> RiskTiers:
    """Tiers for u users from their (u,) markers (NaN: marker undefined, never raises)."""
    with np.errstate(invalid="ignore"):
        flags = np.stack(
            [
                (b_delta < 0) & (b_delta_p < LOSS_CHASING_P),
                heavy,
                night_share >= NIGHT_SHARE,
                session_escalation >= ESCALATION_LOG,
                frequency_escalation >= ESCALATION_LOG,
                discount_k >= HIGH_DISCOUNT_K,
            ],
            axis=1,
        )
    points = flags.astype(np.int64) @ np.array([w for _, w in MARKERS], dtype=np.int64)
    tier = np.select([points >= 4, points >= 2, points >= 1], [3, 2, 1], 0).astype(np.int8)
    return RiskTiers(tier=tier, flags=flags)
