"""Per-mechanic summaries and charts of the merged per-user table: user fits, markers and
flags, the hazard, prediction errors by exposure, the spend Lorenz curve, α's histogram."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models import markers as mk
from models.analysis.partitions import MechanicPartial
from models.analysis.table import UserTable
from models.risk import ESCALATION_LOG, FDR_Q, TIERS
from models.risk import MARKERS as RISK_MARKERS
from models.rules import DecisionTable
from models.schedule import Schedule

INTERVAL_KINDS = frozenset({"fixed_interval", "variable_interval"})
# the level at which a user's b_δ is reported different from 0 (a description of the user, not
# a flag: b_δ < 0 says continuing is relatively likelier after losses than after wins, which
# quitting while ahead produces as well as chasing)
B_DELTA_LEVEL = 0.05
HAZARD_CHART_POINTS = 120
ALPHA_HISTOGRAM_BINS = 20


def quantiles(x: NDArray[Any]) -> dict[str, float]:
    v = np.asarray(x, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        return {"median": math.nan, "p10": math.nan, "p90": math.nan}
    q = np.quantile(v, [0.5, 0.1, 0.9])
    return {"median": float(q[0]), "p10": float(q[1]), "p90": float(q[2])}


def _median(x: NDArray[Any]) -> float:
    v = np.asarray(x, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else math.nan


def _share(mask: NDArray[np.bool_], of: NDArray[np.bool_]) -> float:
    n = int(of.sum())
    return float((mask & of).sum() / n) if n else math.nan


def user_summary(sub: UserTable) -> dict[str, Any]:
    if not len(sub):
        return {"count": 0, "fitted": 0}
    eng_ok = sub["fit_status"] == "fitted"
    choice_ok = sub["choice_status"] == "fitted"
    has_alpha = eng_ok | choice_ok
    with np.errstate(invalid="ignore"):
        sig = sub["b_delta_p"] < B_DELTA_LEVEL
        after_losses = eng_ok & (sub["b_delta"] < 0) & sig
        driven = eng_ok & (sub["b_delta"] > 0) & sig
    statuses, counts = np.unique(sub["fit_status"].astype(str), return_counts=True)
    tiers = np.bincount(sub["risk_tier"].astype(np.int64), minlength=len(TIERS))
    return {
        "count": len(sub),
        "fitted": int(eng_ok.sum()),
        "fit_status": {str(s): int(c) for s, c in zip(statuses, counts, strict=True)},
        "alpha": quantiles(sub["alpha"][has_alpha]),
        "alpha_identified_share": _share(
            (sub["alpha_hi"] - sub["alpha_lo"] < 0.5) & has_alpha, has_alpha
        ),
        "b_delta": quantiles(sub["b_delta"][eng_ok]),
        "b_v": quantiles(sub["b_v"][eng_ok]),
        "continue_after_losses_share": _share(after_losses, eng_ok),
        "rpe_driven_share": _share(driven, eng_ok),
        "choice_fitted": int(choice_ok.sum()),
        "beta": quantiles(sub["beta"][choice_ok]),
        "discount_fitted": int((sub["discount_status"] == "fitted").sum()),
        "risk_tiers": {name: int(tiers[i]) for i, name in enumerate(TIERS)},
    }


def marker_summary(
    sub: UserTable, sums: MechanicPartial, s: Schedule, table: DecisionTable
) -> dict[str, Any]:
    """The mechanic's markers; the share of users with negative prediction errors counts them
    at the anhedonia rule's threshold, so the summary and the rule's finding agree."""
    negative_rpe_balance = table.rule("anhedonia-signature").threshold("rpe_balance")
    spend = np.asarray(sub["spend"], dtype=np.float64) if len(sub) else np.zeros(0)
    responses = int(sums.exposure_n.sum())
    out: dict[str, Any] = {
        "spend_total": float(spend.sum()),
        "spenders": int((spend > 0).sum()),
        "spend_gini": mk.gini(spend),
        "spend_top1_share": mk.top_share(spend, 0.01),
        "spend_top10_share": mk.top_share(spend, 0.10),
        "night_share": (
            sums.night_responses / sums.local_time_responses
            if sums.local_time_responses
            else math.nan
        ),
        "local_time_share": sums.local_time_responses / responses if responses else math.nan,
        "disguised_loss_share": (
            sums.disguised_losses / s_cost if (s_cost := sums.schedule.cost_responses) else math.nan
        ),
        "reward_uncertainty": s.reward_uncertainty,
        "aversive_share": s.aversive_share,
    }
    if len(sub):
        with np.errstate(invalid="ignore"):
            balance = sub["rpe_balance"].astype(float)
            has_balance = np.isfinite(balance)
            escalating = sub["session_escalation"].astype(float) >= ESCALATION_LOG
            has_trend = np.isfinite(sub["session_escalation"].astype(float))
        out |= {
            "loss_chasing_share": _share(
                sub["raised_loss_chasing"].astype(bool), sub["tested_loss_chasing"].astype(bool)
            ),
            # the finding's own figure: users flagged for night play over users tested for it
            "night_user_share": _share(
                sub["raised_night_play"].astype(bool), sub["tested_night_play"].astype(bool)
            ),
            "user_flags": _flag_counts(sub),
            "rpe_persistence": _median(sub["rpe_persistence"]),
            "rpe_balance": _median(balance),
            "negative_rpe_share": _share(balance <= negative_rpe_balance, has_balance),
            "session_escalation": _median(sub["session_escalation"]),
            "session_escalation_share": _share(escalating, has_trend),
            "frequency_escalation": _median(sub["frequency_escalation"]),
            "post_reward_pause": _median(sub["post_reward_pause"]),
            "front_loading": _median(sub["front_loading"]),
            "option_concentration": _median(sub["option_concentration"]),
            "discount_k": _median(sub["discount_k"]),
            "aversive_expectation": _median(sub["aversive_expectation"]),
        }
    return out


def _flag_counts(sub: UserTable) -> dict[str, Any]:
    """Per risk marker: users tested, users flagged, and the false-discovery level."""
    out: dict[str, Any] = {"false_discovery_rate": FDR_Q}
    for name, _ in RISK_MARKERS:
        out[name] = {
            "tested": int(np.asarray(sub[f"tested_{name}"], dtype=bool).sum()),
            "flagged": int(np.asarray(sub[f"raised_{name}"], dtype=bool).sum()),
        }
    return out


def charts(sub: UserTable, sums: MechanicPartial, s: Schedule) -> dict[str, Any]:
    top = min(s.hazard_k.shape[0], HAZARD_CHART_POINTS)
    n = sums.exposure_n
    keep = np.flatnonzero(n > 0)
    abs_delta = (
        sums.exposure_abs_delta_time if s.kind in INTERVAL_KINDS else sums.exposure_abs_delta_count
    ).values()
    spend = np.asarray(sub["spend"], dtype=np.float64) if len(sub) else np.zeros(0)
    pop, share = mk.lorenz(spend)
    alphas = np.asarray(sub["alpha"], dtype=np.float64) if len(sub) else np.zeros(0)
    alphas = alphas[np.isfinite(alphas)]
    edges = np.linspace(0.0, 1.0, ALPHA_HISTOGRAM_BINS + 1)
    counts = np.histogram(alphas, bins=edges)[0]
    return {
        "hazard": {
            "k": s.hazard_k[:top],
            "hazard": s.hazard[:top],
            "n_at_risk": s.hazard_at_risk[:top],
        },
        "rpe_by_exposure": {
            "responses_from": (2**keep).astype(np.int64),
            "mean_abs_rpe": abs_delta[keep] / n[keep],
            "mean_payout": sums.exposure_payout.values()[keep] / n[keep],
            "n": n[keep],
        },
        "lorenz": {"population": pop, "spend": share},
        "alpha_histogram": {"edges": edges, "counts": counts},
    }
