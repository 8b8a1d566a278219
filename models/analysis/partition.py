"""The analysis of one partition of users: per-user fits and markers, and per mechanic the
sums the merge adds up (schedule statistics, night and disguised-loss counts, exposure)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models import choice as choice_model
from models import discounting, engagement
from models import markers as mk
from models.amounts import AmountBounds, amount_bounds
from models.analysis.config import AnalysisConfig, choice_config, engagement_config
from models.analysis.partitions import (
    N_EXPOSURE,
    MechanicPartial,
    PartialAnalysis,
    with_window_end,
)
from models.analysis.populations import ENGAGEMENT_POPULATION_COLUMNS
from models.analysis.table import UserTable
from models.columns import EventColumns
from models.exactsum import ExactSums
from models.risk import MIN_CHASE_EACH, MIN_NIGHT_SESSIONS
from models.schedule import schedule_stats
from models.segments import Segments
from models.trials import Trials, build_trials


def analyse_partition(
    columns: EventColumns, *, config: AnalysisConfig, bounds: AmountBounds | None = None
) -> PartialAnalysis:
    """Analyse one partition of users (every event of each of its users).

    bounds: the caps on costs and reward values of the whole audit (`models.amounts`); by
    default those of `columns`, which equal the whole audit's only when `columns` is all of it.
    """
    config.check()
    config = with_window_end(columns, config)
    bounds = bounds if bounds is not None else amount_bounds(columns)
    until = config.observed_until if config.observed_until is not None else 0.0
    trials = build_trials(
        columns,
        session_gap_s=config.session_gap_s,
        observed_until=until,
        time_zone=config.time_zone,
        bounds=bounds,
    )
    users = _unit_results(trials, config)
    mechanics = _mechanic_partials(columns, trials, users, config)
    return PartialAnalysis(
        config=config,
        bounds=bounds,
        mechanics=mechanics,
        users=users.table,
        choice=users.choice,
        engagement=users.engagement,
        events=len(columns),
        first_t=float(columns.t.min()) if len(columns) else math.inf,
        last_t=float(columns.t.max()) if len(columns) else -math.inf,
    )


@dataclass(frozen=True, slots=True)
class _UnitWork:
    table: UserTable
    delta_count: NDArray[np.float64]
    delta_time: NDArray[np.float64]
    night: NDArray[np.bool_]
    choice: dict[str, choice_model.ChoiceGrids] = field(default_factory=dict)
    engagement: dict[str, engagement.EngagementGrids] = field(default_factory=dict)


def _unit_results(trials: Trials, config: AnalysisConfig) -> _UnitWork:
    units = trials.units
    u = units.count
    eng = engagement.fit_engagement(
        trials.reward,
        trials.continued,
        trials.censored,
        units,
        min_responses=config.min_responses_fit,
        config=engagement_config(config),
    )
    scale_rows = units.broadcast(np.where(eng.scale > 0, eng.scale, 1.0))
    r_scaled = trials.reward / scale_rows
    win = trials.win
    wait_or_pay = np.isfinite(trials.delay_s)

    # per-user markers
    night = trials.local_known & mk.is_night(
        trials.t, trials.utc_offset_s, config.night_start_hour, config.night_end_hour
    )
    m = config.min_marker_responses
    trends = mk.session_trends(
        trials.t, trials.sessions, units, trials.censored, config.min_sessions_trend
    )
    delta_count = mk.state_rpe(r_scaled, mk.count_state(win, units), units, config.marker_alpha)
    delta_time = mk.state_rpe(
        r_scaled, mk.time_state(trials.t, win, units), units, config.marker_alpha
    )
    choice_option = np.where(wait_or_pay, -1, trials.option).astype(np.int32)
    chase = mk.stake_chasing(
        trials.cost, trials.reward, trials.continued, trials.censored, units, MIN_CHASE_EACH
    )
    night_hours = (config.night_end_hour - config.night_start_hour) % 24.0
    night_test = mk.night_sessions_test(
        night, trials.local_known, trials.sessions, units, MIN_NIGHT_SESSIONS, night_hours / 24.0
    )
    table: dict[str, NDArray[Any]] = {
        "user_id": np.array(trials.user_ids, dtype=object)[trials.unit_user]
        if u
        else np.zeros(0, dtype=object),
        "mechanic": np.array(trials.mechanics, dtype=object)[trials.unit_mechanic]
        if u
        else np.zeros(0, dtype=object),
        "responses": units.length.astype(np.int64),
        "sessions": trends.sessions,
        "spend": units.sum(trials.cost),
        "payout": units.sum(trials.gain),
        "wins": units.sum(win).astype(np.int64),
        "fit_status": np.array(engagement.STATUS_NAMES, dtype=object)[eng.status],
        "n_obs": eng.n_obs,
        "engagement_alpha": eng.alpha,
        "engagement_alpha_lo": eng.alpha_lo,
        "engagement_alpha_hi": eng.alpha_hi,
        "b0": eng.b0,
        "b_v": eng.b_v,
        "b_delta": eng.b_delta,
        "b_delta_se": eng.b_delta_se,
        "b_delta_p": eng.b_delta_p,
        "loglik": eng.loglik,
        "loglik_null": eng.loglik_null,
        "lr_stat": eng.lr_stat,
        "p_value": eng.p_value,
        "aic_delta": eng.aic_delta,
        "reward_scale": eng.scale,
        "night_share": mk.night_share(night, trials.local_known, units, m),
        "local_time_responses": units.sum(trials.local_known).astype(np.int64),
        "session_escalation": trends.session_escalation,
        "frequency_escalation": trends.frequency_escalation,
        "session_escalation_p": trends.session_escalation_p,
        "frequency_escalation_p": trends.frequency_escalation_p,
        "night_p": night_test.p_value,
        # the tested quantity: the share of sessions of known local time that start at night
        "night_session_share": night_test.effect + night_hours / 24.0,
        "chase_stake_effect": chase.effect,
        "chase_p": chase.p_value,
        "post_reward_pause": mk.post_reward_pause(trials.t, win, units),
        "rpe_persistence_count": mk.rpe_persistence(delta_count, units, m),
        "rpe_persistence_time": mk.rpe_persistence(delta_time, units, m),
        "rpe_balance_count": mk.rpe_balance(delta_count, units, m),
        "rpe_balance_time": mk.rpe_balance(delta_time, units, m),
        "front_loading": mk.front_loading(trials.gain, units, m),
        "option_concentration": mk.option_concentration(choice_option, units),
        "aversive_share": units.sum(trials.loss > 0) / units.length,
        "aversive_expectation": mk.aversive_expectation(
            trials.gain / scale_rows, trials.loss / scale_rows, units, config.marker_alpha, m
        ),
    }
    table |= {k: np.full(u, np.nan) for k in ENGAGEMENT_POPULATION_COLUMNS}
    choice_columns, choice_grids = _choice_columns(trials, choice_option, r_scaled, config)
    table |= choice_columns
    table |= _discount_columns(trials, wait_or_pay, config)
    return _UnitWork(
        table=UserTable(table),
        delta_count=delta_count,
        delta_time=delta_time,
        night=night,
        choice=choice_grids,
        engagement=_engagement_grids(trials, eng),
    )


def _engagement_grids(
    trials: Trials, eng: engagement.EngagementFit
) -> dict[str, engagement.EngagementGrids]:
    """The fitted engagement units of each mechanic, for the population fit at the merge."""
    if not trials.units.count:
        return {}
    keys = np.array(trials.user_ids, dtype=object)[trials.unit_user]
    fitted = eng.status == engagement.FITTED
    pieces = engagement.EngagementGrids.of(eng, keys)
    mechanic = trials.unit_mechanic[fitted]
    return {trials.mechanics[m]: pieces.take(mechanic == m) for m in np.unique(mechanic).tolist()}


def _choice_columns(
    trials: Trials, option: NDArray[np.int32], r_scaled: NDArray[np.float64], config: AnalysisConfig
) -> tuple[dict[str, NDArray[Any]], dict[str, choice_model.ChoiceGrids]]:
    """The choice model over each user's choice set: the options they chose at least once (a
    set that does not depend on how users are partitioned).

    Maximum-likelihood fits per user, and each fitted user's grid likelihood by mechanic for
    the population fit at the merge (`choice_population`), which replaces choice_alpha(_lo/
    _hi) and beta by posterior modes and intervals and fills beta_lo/_hi. choice_bic_delta:
    BIC of the learning model minus BIC of a fixed preference (negative: learning fits better).
    """
    units = trials.units
    u = units.count
    nan = np.full(u, np.nan)
    out: dict[str, NDArray[Any]] = {
        "choice_status": np.full(u, "not_applicable", dtype=object),
        "choices": np.zeros(u, dtype=np.int64),
        "choice_alpha": nan.copy(),
        "choice_alpha_lo": nan.copy(),
        "choice_alpha_hi": nan.copy(),
        "beta": nan.copy(),
        "beta_lo": nan.copy(),
        "beta_hi": nan.copy(),
        "choice_loglik": nan.copy(),
        "choice_bic_delta": nan.copy(),
    }
    rows = np.flatnonzero(option >= 0)
    if rows.size == 0:
        return out, {}
    unit = units.index[rows]
    width = int(option.max()) + 1
    pair, local = np.unique(unit * width + option[rows], return_inverse=True)
    pair_unit = pair // width
    first_pair = np.searchsorted(pair_unit, pair_unit)  # first pair of the same unit
    local_code = (np.arange(pair.shape[0]) - first_pair)[local].astype(np.int64)
    has = np.zeros(u, dtype=bool)
    has[unit] = True
    seg = Segments.from_lengths(np.bincount(unit, minlength=u)[has].astype(np.int64))
    n_available = np.bincount(pair_unit, minlength=u)[has].astype(np.int64)
    fit = choice_model.fit_choice(
        local_code,
        r_scaled[rows],
        seg,
        n_available=n_available,
        min_choices=config.min_choices_fit,
        config=choice_config(config),
    )
    out["choice_status"][has] = np.array(choice_model.STATUS_NAMES, dtype=object)[fit.status]
    out["choices"][has] = fit.n_choices
    out["choice_alpha"][has] = fit.alpha
    out["choice_alpha_lo"][has] = fit.alpha_lo
    out["choice_alpha_hi"][has] = fit.alpha_hi
    out["beta"][has] = fit.beta
    out["choice_loglik"][has] = fit.loglik
    log_n = np.log(np.maximum(fit.n_choices, 1).astype(np.float64))
    out["choice_bic_delta"][has] = (-2.0 * fit.loglik + 2.0 * log_n) - (
        -2.0 * fit.loglik_pref + (n_available - 1.0) * log_n
    )
    fitted = fit.status == choice_model.FITTED
    unit_of = np.flatnonzero(has)[fitted]
    mech_of = trials.unit_mechanic[unit_of]
    grids: dict[str, choice_model.ChoiceGrids] = {}
    for m in np.unique(mech_of).tolist():
        mine = mech_of == m
        grids[trials.mechanics[m]] = choice_model.ChoiceGrids(
            key=np.array(trials.user_ids, dtype=object)[trials.unit_user[unit_of[mine]]],
            loglik=fit.loglik[fitted][mine],
            rel=fit.grid[fitted][mine],
            n_choices=fit.n_choices[fitted][mine],
            n_options=n_available[fitted][mine],
            loglik_pref=fit.loglik_pref[fitted][mine],
        )
    return out, grids


def _discount_columns(
    trials: Trials, wait_or_pay: NDArray[np.bool_], config: AnalysisConfig
) -> dict[str, NDArray[Any]]:
    units = trials.units
    u = units.count
    out: dict[str, NDArray[Any]] = {
        "discount_status": np.full(u, "not_applicable", dtype=object),
        "wait_or_pay": np.zeros(u, dtype=np.int64),
        "discount_k": np.full(u, np.nan),
        "indifference_delay_s": np.full(u, np.nan),
        "price_share": np.full(u, np.nan),
    }
    rows = np.flatnonzero(wait_or_pay)
    if rows.size == 0:
        return out
    pay_codes = [i for i, name in enumerate(trials.options) if name.strip().lower() == "pay"]
    pay = np.isin(trials.option[rows], pay_codes)
    unit = units.index[rows]
    has = np.zeros(u, dtype=bool)
    has[unit] = True
    seg = Segments.from_lengths(np.bincount(unit, minlength=u)[has].astype(np.int64))
    fit = discounting.fit_discounting(
        trials.delay_s[rows],
        pay,
        trials.cost[rows],
        trials.gain[rows],
        seg,
        min_choices=config.min_wait_or_pay,
    )
    out["discount_status"][has] = np.array(discounting.STATUS_NAMES, dtype=object)[fit.status]
    out["wait_or_pay"][has] = fit.n_choices
    out["discount_k"][has] = fit.k
    out["indifference_delay_s"][has] = fit.indifference_delay_s
    out["price_share"][has] = fit.price_share
    return out


def _mechanic_partials(
    columns: EventColumns, trials: Trials, work: _UnitWork, config: AnalysisConfig
) -> dict[str, MechanicPartial]:
    units = trials.units
    out: dict[str, MechanicPartial] = {}
    if units.count == 0:
        return out
    events = np.bincount(columns.mechanic, minlength=len(columns.mechanics))
    exposure = np.minimum(np.floor(np.log2(units.position + 1.0)).astype(np.int64), N_EXPOSURE - 1)
    mech_rows = trials.row_mechanic.astype(np.int64)
    ex_n = np.bincount(
        mech_rows * N_EXPOSURE + exposure, minlength=len(trials.mechanics) * N_EXPOSURE
    )
    ex_n = ex_n.reshape(-1, N_EXPOSURE).astype(np.int64)
    night = np.bincount(mech_rows[work.night], minlength=len(trials.mechanics))
    known = np.bincount(mech_rows[trials.local_known], minlength=len(trials.mechanics))
    disguised = np.bincount(
        mech_rows[(trials.gain > 0.0) & (trials.gain < trials.cost)],
        minlength=len(trials.mechanics),
    )
    bounds = np.searchsorted(trials.unit_mechanic, np.arange(len(trials.mechanics) + 1))
    for m, name in enumerate(trials.mechanics):
        lo, hi = int(bounds[m]), int(bounds[m + 1])
        if hi == lo:
            continue
        r0 = int(units.start[lo])
        r1 = int(units.start[hi - 1] + units.length[hi - 1])
        seg = Segments.from_lengths(units.length[lo:hi])
        stats = schedule_stats(
            seg,
            trials.t[r0:r1],
            trials.gain[r0:r1],
            trials.loss[r0:r1],
            trials.cost[r0:r1],
            trials.day_offset_s[r0:r1],
            session_start=trials.sessions.first[r0:r1],
        )
        out[name] = MechanicPartial(
            schedule=stats,
            events=int(events[m]),
            night_responses=int(night[m]),
            local_time_responses=int(known[m]),
            disguised_losses=int(disguised[m]),
            orphan_rewards=int(trials.orphan_rewards[m]),
            exposure_n=ex_n[m],
            exposure_abs_delta_count=ExactSums.of(
                exposure[r0:r1], np.abs(work.delta_count[r0:r1]), N_EXPOSURE
            ),
            exposure_abs_delta_time=ExactSums.of(
                exposure[r0:r1], np.abs(work.delta_time[r0:r1]), N_EXPOSURE
            ),
            exposure_payout=ExactSums.of(exposure[r0:r1], trials.gain[r0:r1], N_EXPOSURE),
        )
    return out
