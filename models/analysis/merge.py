"""The merge: partitions of users combined into the full analysis (schedules identified,
population fits, risk tiers, summaries and findings on the whole)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.analysis.config import AnalysisConfig
from models.analysis.partitions import MechanicPartial, PartialAnalysis
from models.analysis.populations import (
    choice_population,
    choice_summary,
    engagement_population,
    engagement_summary,
)
from models.analysis.report import Analysis, MechanicReport
from models.analysis.summaries import INTERVAL_KINDS, charts, marker_summary, user_summary
from models.analysis.table import UserTable
from models.exactsum import ExactSums
from models.risk import MARKERS as RISK_MARKERS
from models.risk import heavy_spender, risk_tiers
from models.rules import DecisionTable, Finding, MechanicFacts, assess
from models.schedule import Schedule, identify, merge_stats

Progress = Callable[[str, int, int], None]


def merge(
    parts: Sequence[PartialAnalysis],
    *,
    config: AnalysisConfig,
    table: DecisionTable,
    progress: Progress | None = None,
) -> Analysis:
    """Combine partitions of users into the full analysis.

    The parts must come from the same configuration and observation window (ValueError
    otherwise). Per-user rows are concatenated, mechanic statistics summed, then schedules
    identified, summaries, risk tiers and findings computed on the whole.
    """
    if not parts:
        raise ValueError("nothing to merge")
    windows = {p.config.observed_until for p in parts if p.events}
    if len(windows) > 1:
        raise ValueError(
            "partitions were analysed with different observation windows: "
            "set AnalysisConfig.observed_until"
        )
    if len({p.bounds for p in parts if p.events}) > 1:
        raise ValueError(
            "partitions were analysed with different caps on amounts: pass every partition "
            "the caps of the whole audit (models.amounts.amount_bounds)"
        )
    effective = next((p.config for p in parts if p.events), parts[0].config)
    bounds = next((p.bounds for p in parts if p.events), parts[0].bounds)
    base = dataclasses.replace(config, observed_until=None, partition_events=0)
    for p in parts:
        if dataclasses.replace(p.config, observed_until=None, partition_events=0) != base:
            raise ValueError("partitions were analysed with a different configuration")
    users = UserTable.concatenate([p.users for p in parts])
    if len(users):
        users = users.take(
            np.lexsort((users["user_id"].astype(str), users["mechanic"].astype(str)))
        )
    users, choice_fits = choice_population(users, parts, config)
    users, engagement_pops = engagement_population(users, parts, config)
    names = sorted({name for p in parts for name in p.mechanics})
    reports: list[MechanicReport] = []
    findings: list[Finding] = []
    kinds: dict[str, str] = {}
    schedules: dict[str, Schedule] = {}
    sums: dict[str, MechanicPartial] = {}
    for i, name in enumerate(names):
        pieces = [p.mechanics[name] for p in parts if name in p.mechanics]
        sums[name] = _sum_partials(pieces)
        identified = identify(sums[name].schedule)
        schedules[name] = dataclasses.replace(
            identified, evidence=identified.evidence | bounds.as_dict(name)
        )
        kinds[name] = schedules[name].kind
        if progress is not None:
            progress("schedules", i + 1, len(names))
    users = _derive_user_columns(users, kinds)
    mech_col = users["mechanic"].astype(str) if len(users) else np.zeros(0, dtype=str)
    for i, name in enumerate(names):
        rows = np.flatnonzero(mech_col == name)
        sub = users.take(rows)
        schedule = schedules[name]
        facts = _facts(name, schedule, sub, sums[name])
        assessment = assess(table, facts)
        found = assessment.findings
        findings.extend(found)
        reports.append(
            MechanicReport(
                mechanic=name,
                schedule=schedule,
                users=user_summary(sub)
                | engagement_summary(engagement_pops.get(name))
                | choice_summary(choice_fits.get(name)),
                markers=marker_summary(sub, sums[name], schedule, table),
                findings=found,
                charts=charts(sub, sums[name], schedule),
                not_assessable=assessment.not_assessable,
            )
        )
        if progress is not None:
            progress("markers", i + 1, len(names))
    return Analysis(
        config=effective,
        rules_version=table.version,
        mechanics=tuple(reports),
        findings=tuple(findings),
        users=users,
        inputs={
            "events": sum(p.events for p in parts),
            "responses": int(users["responses"].sum()) if len(users) else 0,
            "users": int(np.unique(users["user_id"].astype(str)).shape[0]) if len(users) else 0,
            "first_t": min((p.first_t for p in parts), default=math.inf),
            "last_t": max((p.last_t for p in parts), default=-math.inf),
        },
    )


def _sum_partials(pieces: Sequence[MechanicPartial]) -> MechanicPartial:
    return MechanicPartial(
        schedule=merge_stats([p.schedule for p in pieces]),
        events=sum(p.events for p in pieces),
        night_responses=sum(p.night_responses for p in pieces),
        local_time_responses=sum(p.local_time_responses for p in pieces),
        disguised_losses=sum(p.disguised_losses for p in pieces),
        orphan_rewards=sum(p.orphan_rewards for p in pieces),
        exposure_n=np.sum([p.exposure_n for p in pieces], axis=0),
        exposure_abs_delta_count=ExactSums.merge(p.exposure_abs_delta_count for p in pieces),
        exposure_abs_delta_time=ExactSums.merge(p.exposure_abs_delta_time for p in pieces),
        exposure_payout=ExactSums.merge(p.exposure_payout for p in pieces),
    )


def _derive_user_columns(users: UserTable, kinds: Mapping[str, str]) -> UserTable:
    """Merge-time columns: the reported α, the learner matching each mechanic's schedule, risk."""
    if not len(users):
        return users
    mech = users["mechanic"].astype(str)
    interval = np.isin(mech, [m for m, k in kinds.items() if k in INTERVAL_KINDS])
    choice_ok = users["choice_status"] == "fitted"
    eng_ok = users["fit_status"] == "fitted"
    alpha = np.where(choice_ok, users["choice_alpha"], users["engagement_alpha"])
    lo = np.where(choice_ok, users["choice_alpha_lo"], users["engagement_alpha_lo"])
    hi = np.where(choice_ok, users["choice_alpha_hi"], users["engagement_alpha_hi"])
    source = np.where(choice_ok, "choice", np.where(eng_ok, "engagement", "none")).astype(object)
    mech_codes = np.unique(mech, return_inverse=True)[1].astype(np.int64)
    risk = risk_tiers(
        group=mech_codes,
        chase_effect=_floats(users["chase_stake_effect"]),
        chase_p=_floats(users["chase_p"]),
        heavy=heavy_spender(_floats(users["spend"]), mech_codes),
        spend=_floats(users["spend"]),
        night_session_share=_floats(users["night_session_share"]),
        night_p=_floats(users["night_p"]),
        session_escalation=_floats(users["session_escalation"]),
        session_escalation_p=_floats(users["session_escalation_p"]),
        frequency_escalation=_floats(users["frequency_escalation"]),
        frequency_escalation_p=_floats(users["frequency_escalation_p"]),
        discount_k=_floats(users["discount_k"]),
    )
    extra: dict[str, NDArray[Any]] = {
        "alpha": alpha,
        "alpha_lo": lo,
        "alpha_hi": hi,
        "alpha_source": source,
        "rpe_persistence": np.where(
            interval, users["rpe_persistence_time"], users["rpe_persistence_count"]
        ),
        "rpe_balance": np.where(interval, users["rpe_balance_time"], users["rpe_balance_count"]),
        "risk_tier": risk.tier,
    }
    for j, (name, _) in enumerate(RISK_MARKERS):
        extra[f"raised_{name}"] = risk.flags[:, j]
        extra[f"tested_{name}"] = risk.tested[:, j]
    return users.with_columns(**extra)


def _floats(x: NDArray[Any]) -> NDArray[np.float64]:
    return np.asarray(x, dtype=np.float64)


def _facts(name: str, s: Schedule, sub: UserTable, sums: MechanicPartial) -> MechanicFacts:
    empty = np.zeros(0)
    responses = int(sums.exposure_n.sum())

    def col(key: str) -> NDArray[np.float64]:
        return np.asarray(sub[key], dtype=np.float64) if len(sub) else empty

    def flag(key: str) -> NDArray[np.bool_]:
        return np.asarray(sub[key], dtype=bool) if len(sub) else np.zeros(0, dtype=bool)

    return MechanicFacts(
        mechanic=name,
        kind=s.kind,
        confidence=s.confidence,
        slot_machine_confidence=s.slot_machine_confidence,
        reward_probability=s.reward_probability,
        mean_ratio=s.mean_ratio,
        magnitude_cv=s.magnitude_cv,
        mean_interval_s=s.mean_interval_s,
        has_cost=s.has_cost,
        aversive_share=s.aversive_share,
        reward_uncertainty=s.reward_uncertainty,
        outcome=s.outcome,
        bonus=s.bonus,
        users=len(sub),
        engagement_fitted=(sub["fit_status"] == "fitted") if len(sub) else np.zeros(0, dtype=bool),
        b_delta=col("b_delta"),
        b_delta_p=col("b_delta_p"),
        spend=col("spend"),
        night_share=col("night_share"),
        session_escalation=col("session_escalation"),
        frequency_escalation=col("frequency_escalation"),
        rpe_persistence=col("rpe_persistence"),
        rpe_balance=col("rpe_balance"),
        front_loading=col("front_loading"),
        option_concentration=col("option_concentration"),
        aversive_expectation=col("aversive_expectation"),
        local_time_share=sums.local_time_responses / responses if responses else math.nan,
        disguised_loss_share=(
            sums.disguised_losses / s_cost if (s_cost := sums.schedule.cost_responses) else math.nan
        ),
        cost_share=float(s.evidence.get("cost_share", math.nan)),
        chase_effect=col("chase_stake_effect"),
        chase_tested=flag("tested_loss_chasing"),
        chase_flagged=flag("raised_loss_chasing"),
        night_tested=flag("tested_night_play"),
        night_flagged=flag("raised_night_play"),
    )
