"""Per-user risk tiers from markers of harm, with the markers that raised them.

As in player-protection engines (Playscan, BetBuddy, Mindway GameScanner), a user's tier is a
transparent sum of flagged markers, and the report names the markers that raised it so the
score can be explained and contested (the UK Gambling Commission 2023 customer interaction
guidance requires remote operators to identify harm from a range of indicators, including spend,
patterns of spend and time spent gambling). Weights are this product's choice, not a published
score: loss chasing and heavy spend, the markers closest to financial harm, count 2; the other
markers 1. Tiers: 0 points none, 1 low, 2–3 medium, ≥ 4 high.

Every per-user flag that rests on a statistic carries its uncertainty: it is a one-sided test
(stake raised after losses, night sessions above the night's share of the day, session length
or frequency rising with tenure), and flags are discoveries of the Benjamini–Hochberg procedure
across the mechanic's tested users, so that among flagged users at most FDR_Q are expected to be
false, whatever the number of users. The report gives, per marker, how many users were tested
and how many flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

TIERS: tuple[str, ...] = ("none", "low", "medium", "high")

# user-level marker thresholds (rationale; reference)
FDR_Q = 0.10  # false discoveries among a mechanic's flagged users, per marker (BH 1995)
NIGHT_SHARE = 0.5  # half of a user's responses between 00:00 and 06:00 local (uniform: 0.25)
MIN_CHASE_EACH = 5  # stake changes after losses and after wins, each, to test chasing
MIN_NIGHT_SESSIONS = 5  # fewer sessions of known local time cannot show a habit
ESCALATION_LOG = float(np.log(1.5))  # sessions ≥ 50 % longer or more frequent over tenure
HEAVY_SPENDER_SHARE = 0.01  # top 1 % of a mechanic's spenders by rank (ties split evenly)
HIGH_DISCOUNT_K = 1.0 / 3600.0  # pays to skip waits of about an hour or less (θ = ½)

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
    """tier: (u,) index into TIERS; flags: (u, len(MARKERS)) which markers were raised;
    tested: (u, len(MARKERS)) which markers could be assessed for the user at all."""

    tier: NDArray[np.int8]
    flags: NDArray[np.bool_]
    tested: NDArray[np.bool_]

    def raised_by(self, i: int) -> list[str]:
        return [name for (name, _), on in zip(MARKERS, self.flags[i], strict=True) if on]


def benjamini_hochberg(
    p: NDArray[np.float64], group: NDArray[np.int64], q: float = FDR_Q
) -> NDArray[np.bool_]:
    """(u,) discoveries of the Benjamini–Hochberg step-up procedure at level q, within each
    group (mechanic) over its users with a p-value (NaN: not tested, never a discovery):
    reject the k smallest p-values, k the largest with p₍ₖ₎ ≤ k·q/m (Benjamini & Hochberg
    1995). The order of rows does not matter (ties are all rejected or all kept)."""
    out = np.zeros(p.shape[0], dtype=bool)
    for g in np.unique(group):
        rows = np.flatnonzero((group == g) & np.isfinite(p))
        m = rows.size
        if not m:
            continue
        ps = np.sort(p[rows])
        passing = np.flatnonzero(ps <= np.arange(1, m + 1) * q / m)
        if passing.size:
            out[rows] = p[rows] <= ps[passing[-1]]
    return out


def heavy_spender(spend: NDArray[np.float64], group: NDArray[np.int64]) -> NDArray[np.bool_]:
    """(u,) among the top HEAVY_SPENDER_SHARE of its group's spenders by rank, ties split
    evenly: a spender's rank from the top is the mid-rank (spenders paying more) + ½·(spenders
    paying the same, itself included, + 1) — 1 for a sole top spender, the mean of the ranks
    a tied group spans — and the top share holds ranks ≤ share × spenders. So equal spenders
    sit mid-table (never heavy), and a group needs 100 spenders before its top spender is in
    its top 1 %. group: (u,) group code; rows need not be sorted."""
    out = np.zeros(spend.shape[0], dtype=bool)
    for g in np.unique(group):
        rows = np.flatnonzero((group == g) & (spend > 0))
        if not rows.size:
            continue
        v = spend[rows]
        ordered = np.sort(v)
        above = rows.size - np.searchsorted(ordered, v, side="right")
        same = np.searchsorted(ordered, v, side="right") - np.searchsorted(ordered, v, "left")
        out[rows] = above + 0.5 * (same + 1) <= HEAVY_SPENDER_SHARE * rows.size
    return out


def risk_tiers(
    *,
    group: NDArray[np.int64],
    chase_effect: NDArray[np.float64],
    chase_p: NDArray[np.float64],
    heavy: NDArray[np.bool_],
    spend: NDArray[np.float64],
    night_session_share: NDArray[np.float64],
    night_p: NDArray[np.float64],
    session_escalation: NDArray[np.float64],
    session_escalation_p: NDArray[np.float64],
    frequency_escalation: NDArray[np.float64],
    frequency_escalation_p: NDArray[np.float64],
    discount_k: NDArray[np.float64],
) -> RiskTiers:
    """Tiers for u users from their (u,) markers (NaN: marker undefined, never raises).

    Each flag's effect is the quantity its test counts: night play by the share of sessions of
    known local time that start at night (`models.markers.night_sessions_test`), so every user
    tested for a marker can also be flagged for it.

    A tested marker raises the tier only when its test is a discovery at FDR_Q among the
    mechanic's users (Benjamini–Hochberg) *and* its effect reaches the marker's threshold:
    significance alone would flag trivial effects in heavy users, size alone noise in light
    ones."""
    with np.errstate(invalid="ignore"):
        flags = np.stack(
            [
                benjamini_hochberg(chase_p, group) & (chase_effect > 0),
                heavy,
                benjamini_hochberg(night_p, group) & (night_session_share >= NIGHT_SHARE),
                benjamini_hochberg(session_escalation_p, group)
                & (session_escalation >= ESCALATION_LOG),
                benjamini_hochberg(frequency_escalation_p, group)
                & (frequency_escalation >= ESCALATION_LOG),
                discount_k >= HIGH_DISCOUNT_K,
            ],
            axis=1,
        )
        tested = np.stack(
            [
                np.isfinite(chase_p),
                spend > 0,
                np.isfinite(night_p),
                np.isfinite(session_escalation_p),
                np.isfinite(frequency_escalation_p),
                np.isfinite(discount_k),
            ],
            axis=1,
        )
    points = flags.astype(np.int64) @ np.array([w for _, w in MARKERS], dtype=np.int64)
    tier = np.select([points >= 4, points >= 2, points >= 1], [3, 2, 1], 0).astype(np.int8)
    return RiskTiers(tier=tier, flags=flags, tested=tested)
