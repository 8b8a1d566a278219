"""The entry point: events → schedules, per-user fits, markers, risk tiers and findings.

`analyse(columns, config=…, table=…)` is what the service and the offline CLI call. It splits
the users into partitions of bounded size (`split_by_user`), runs `analyse_partition` on each —
per-user work is independent and mechanic statistics are sums — and `merge`s them, so a large
audit never holds more than one partition's intermediate arrays, and partitioned runs give
the same report as a single one (quantile summaries are taken at merge time over the small
per-user table).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models import choice as choice_model
from models import discounting, engagement, localtime
from models import markers as mk
from models.columns import EventColumns
from models.exactsum import ExactSums
from models.jsonable import column_values, jsonable
from models.risk import (
    ESCALATION_LOG,
    FDR_Q,
    MIN_CHASE_EACH,
    MIN_NIGHT_SESSIONS,
    TIERS,
    heavy_spender,
    risk_tiers,
)
from models.risk import MARKERS as RISK_MARKERS
from models.rules import DecisionTable, Finding, MechanicFacts, NotAssessable, assess
from models.schedule import (
    SLOT_MACHINE_KINDS,
    Schedule,
    ScheduleStats,
    identify,
    merge_stats,
    schedule_stats,
)
from models.segments import Segments
from models.trials import Trials, build_trials

Progress = Callable[[str, int, int], None]

N_EXPOSURE = 32  # log₂ bins of a response's ordinal in its user's history
INTERVAL_KINDS = frozenset({"fixed_interval", "variable_interval"})
NEGATIVE_RPE_BALANCE = -0.3  # as the anhedonia rule's default, for the summary share
# the level at which a user's b_δ is reported different from 0 (a description of the user, not
# a flag: b_δ < 0 says continuing is relatively likelier after losses than after wins, which
# quitting while ahead produces as well as chasing)
B_DELTA_LEVEL = 0.05
HAZARD_CHART_POINTS = 120
ALPHA_HISTOGRAM_BINS = 20


@dataclass(frozen=True, kw_only=True)
class AnalysisConfig:
    """Knobs of an audit (all JSON-able; the report records them).

    session_gap_s:        inactivity that ends a session
    min_responses_fit:    fewer observed continue/stop decisions → "insufficient_data"
    min_choices_fit:      fewer choices among options → choice model not fitted
    min_wait_or_pay:      fewer wait-or-pay offers → no discount rate
    min_marker_responses: fewer responses → per-user markers undefined
    min_sessions_trend:   fewer sessions → no session-escalation estimate
    alpha_grid, alpha_min, alpha_max: the learning-rate profile grid (logit-spaced)
    beta_max:             upper bound of the softmax inverse temperature
    v0:                   initial expectation of every learner
    marker_alpha:         learning rate of the state learners behind rpe_persistence/balance
    night_start_hour, night_end_hour: the night in the user's zone; night play is assessed
                          only where local time is known (`models.localtime`)
    time_zone:            the project's declared IANA zone (e.g. "Europe/Berlin") for events
                          that carry no offset of their own; None: their local time is unknown
    observed_until:       end of the observation window (epoch s); continuations after the last
                          responses within one session gap of it are censored. None: the latest
                          event analysed (set it when analysing partitions separately)
    partition_events:     events per partition inside `analyse` (bounds memory, not results)
    """

    session_gap_s: float = 1800.0
    min_responses_fit: int = 50
    min_choices_fit: int = 30
    min_wait_or_pay: int = 10
    min_marker_responses: int = 20
    min_sessions_trend: int = 6
    alpha_grid: int = 25
    alpha_min: float = 0.01
    alpha_max: float = 0.99
    beta_max: float = 50.0
    v0: float = 0.0
    marker_alpha: float = 0.2
    night_start_hour: float = 0.0
    night_end_hour: float = 6.0
    time_zone: str | None = None
    observed_until: float | None = None
    partition_events: int = 1_000_000

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AnalysisConfig:
        """Build from a (partial) mapping; ValueError names the first bad key."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in d.items():
            if key not in known:
                raise ValueError(f"unknown config key {key!r}")
            default = getattr(cls(), key)
            if key in ("observed_until", "time_zone") and value is None:
                values[key] = None
                continue
            if key == "time_zone":
                if not isinstance(value, str):
                    raise ValueError("config key 'time_zone' must be an IANA time zone name")
                localtime.check_time_zone(value)
                values[key] = value
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"config key {key!r} must be a number")
            if not math.isfinite(value):
                raise ValueError(f"config key {key!r} must be finite")
            if isinstance(default, int) and not isinstance(default, bool):
                if value != int(value):
                    raise ValueError(f"config key {key!r} must be an integer")
                values[key] = int(value)
            else:
                values[key] = float(value)
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        """Raise ValueError naming the first knob outside its domain."""
        rules: list[tuple[str, bool]] = [
            ("session_gap_s", self.session_gap_s > 0),
            ("min_responses_fit", self.min_responses_fit >= 5),
            ("min_choices_fit", self.min_choices_fit >= 2),
            ("min_wait_or_pay", self.min_wait_or_pay >= 2),
            ("min_marker_responses", self.min_marker_responses >= 3),
            ("min_sessions_trend", self.min_sessions_trend >= 3),
            ("alpha_grid", self.alpha_grid >= 5),
            ("alpha_min", 0.0 < self.alpha_min < self.alpha_max),
            ("alpha_max", self.alpha_min < self.alpha_max < 1.0),
            ("beta_max", self.beta_max > 0),
            ("marker_alpha", 0.0 < self.marker_alpha <= 1.0),
            ("night_start_hour", 0.0 <= self.night_start_hour <= 24.0),
            ("night_end_hour", 0.0 <= self.night_end_hour <= 24.0),
            ("partition_events", self.partition_events >= 1000),
        ]
        for key, ok in rules:
            if not ok:
                raise ValueError(f"config key {key!r} is out of range")


# ------------------------------------------------------------------ per-user table


@dataclass(frozen=True)
class UserTable:
    """Per-unit results, one row per (user, mechanic), as named (u,) columns.

    Identity: user_id, mechanic (str). Activity: responses, sessions, spend, payout, wins.
    Engagement fit: fit_status, n_obs, engagement_alpha(_lo/_hi), b0, b_v, b_delta, b_delta_se,
    b_delta_p, loglik, loglik_null, lr_stat, p_value, aic_delta, reward_scale (maximum
    likelihood); after merging also the population fit's engagement_alpha_eb, b_v_eb and
    b_delta_eb with their 95 % intervals (_lo/_hi) and engagement_log_bf.
    Choice fit: choice_status, choices, choice_alpha(_lo/_hi), beta(_lo/_hi), choice_loglik,
    choice_bic_delta (α and β: maximum likelihood per partition, posterior modes after merging).
    Discounting: discount_status, wait_or_pay, discount_k, indifference_delay_s, price_share.
    Markers: night_share, night_session_share (sessions of known local time starting at night:
    what the night-play test counts), session_escalation, frequency_escalation, post_reward_pause,
    rpe_persistence_count/_time, rpe_balance_count/_time, front_loading, option_concentration,
    aversive_share, aversive_expectation. After merging also: alpha(_lo/_hi), alpha_source,
    rpe_persistence, rpe_balance, risk_tier and one boolean column per risk marker
    ("raised_<name>").
    """

    columns: dict[str, NDArray[Any]]

    def __len__(self) -> int:
        return int(self.columns["user_id"].shape[0]) if self.columns else 0

    def __getitem__(self, name: str) -> NDArray[Any]:
        return self.columns[name]

    def take(self, index: NDArray[np.intp] | NDArray[np.bool_]) -> UserTable:
        return UserTable({k: v[index] for k, v in self.columns.items()})

    def with_columns(self, **extra: NDArray[Any]) -> UserTable:
        return UserTable(self.columns | extra)

    @staticmethod
    def concatenate(tables: Sequence[UserTable]) -> UserTable:
        tables = [t for t in tables if len(t)]
        if not tables:
            return UserTable({})
        return UserTable(
            {k: np.concatenate([t.columns[k] for t in tables]) for k in tables[0].columns}
        )


# ------------------------------------------------------------------ partitions


@dataclass(frozen=True, kw_only=True)
class MechanicPartial:
    """Sums over one partition's users of one mechanic.

    night_responses / local_time_responses: responses at night / of known local time
    disguised_losses: paid responses that returned something, but less than their cost
    exposure_*: by log₂ response ordinal (N_EXPOSURE bins): responses, and exact sums of |δ| of
    the count and time learners and of payouts (exact, so partitions add up to the same bits).
    """

    schedule: ScheduleStats
    events: int
    night_responses: int
    local_time_responses: int
    disguised_losses: int
    orphan_rewards: int
    exposure_n: NDArray[np.int64]
    exposure_abs_delta_count: ExactSums
    exposure_abs_delta_time: ExactSums
    exposure_payout: ExactSums


@dataclass(frozen=True, kw_only=True)
class PartialAnalysis:
    """The result of one partition of users, to be merged."""

    config: AnalysisConfig
    mechanics: dict[str, MechanicPartial]
    users: UserTable
    events: int
    first_t: float
    last_t: float
    choice: dict[str, choice_model.ChoiceGrids] = field(default_factory=dict)
    engagement: dict[str, engagement.EngagementGrids] = field(default_factory=dict)


def split_by_user(columns: EventColumns, n_partitions: int) -> list[EventColumns]:
    """Split events into at most `n_partitions` parts by user (contiguous user codes, balanced
    by event count); every user's events land in one part. Code tables are kept.

    To analyse parts separately and `merge` them, give every part the same
    `AnalysisConfig.observed_until` (e.g. the latest event of the whole set).
    """
    return list(iter_user_partitions(columns, n_partitions))


def iter_user_partitions(columns: EventColumns, n_partitions: int) -> Iterator[EventColumns]:
    """The parts of `split_by_user`, made one at a time (a caller that hands each part on
    before asking for the next holds one part's copy, not all of them)."""
    n_users = len(columns.user_ids)
    if n_partitions <= 1 or n_users <= 1 or len(columns) == 0:
        yield columns
        return
    per_user = np.bincount(columns.user, minlength=n_users)
    cum = np.cumsum(per_user)
    bounds = np.searchsorted(cum, np.arange(1, n_partitions) * cum[-1] / n_partitions, side="left")
    part_of_user = np.searchsorted(np.unique(bounds), np.arange(n_users), side="right")
    parts = np.unique(part_of_user)
    if bool(np.all(columns.user[1:] >= columns.user[:-1])):
        # events grouped by user (as the service reads them): each part is a run of rows
        ends = np.cumsum(np.bincount(part_of_user, weights=per_user))[parts].astype(np.int64)
        for lo, hi in zip([0, *ends[:-1].tolist()], ends.tolist(), strict=True):
            yield columns.rows(lo, hi)
        return
    part = np.searchsorted(parts, part_of_user)[columns.user]
    part = part.astype(np.uint16 if parts.shape[0] <= 1 << 16 else np.int64)
    # one stable radix sort of the events by part (numpy sorts 16-bit keys by radix), then
    # each part is a run of increasing positions: one gather per part, where a mask per part
    # scanned every event once per part
    order = np.argsort(part, kind="stable")
    ends = np.cumsum(np.bincount(part, minlength=parts.shape[0]))
    del part
    for lo, hi in zip([0, *ends[:-1].tolist()], ends.tolist(), strict=True):
        yield columns.take(order[lo:hi])


def _resolved(columns: EventColumns, config: AnalysisConfig) -> AnalysisConfig:
    if config.observed_until is not None or len(columns) == 0:
        return config
    return dataclasses.replace(config, observed_until=float(columns.t.max()))


def analyse_partition(columns: EventColumns, *, config: AnalysisConfig) -> PartialAnalysis:
    """Analyse one partition of users (every event of each of its users)."""
    config.check()
    config = _resolved(columns, config)
    until = config.observed_until if config.observed_until is not None else 0.0
    trials = build_trials(
        columns,
        session_gap_s=config.session_gap_s,
        observed_until=until,
        time_zone=config.time_zone,
    )
    users = _unit_results(trials, config)
    mechanics = _mechanic_partials(columns, trials, users, config)
    return PartialAnalysis(
        config=config,
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
        config=_engagement_config(config),
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


def _engagement_config(config: AnalysisConfig) -> engagement.EngagementConfig:
    return engagement.EngagementConfig(
        alpha_grid=config.alpha_grid,
        alpha_min=config.alpha_min,
        alpha_max=config.alpha_max,
        v0=config.v0,
    )


# the engagement population fit's per-user columns (filled at the merge, NaN before): the
# posterior mode of α and posterior means of b_V and b_δ with their 95 % intervals, and the
# log Bayes factor of the model against no learning
ENGAGEMENT_POPULATION_COLUMNS: tuple[str, ...] = (
    "engagement_alpha_eb", "engagement_alpha_eb_lo", "engagement_alpha_eb_hi",
    "b_v_eb", "b_v_eb_lo", "b_v_eb_hi", "b_delta_eb", "b_delta_eb_lo", "b_delta_eb_hi",
    "engagement_log_bf",
)  # fmt: skip


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


def _engagement_population(
    users: UserTable, parts: Sequence[PartialAnalysis], config: AnalysisConfig
) -> tuple[UserTable, dict[str, engagement.EngagementPopulation]]:
    """Per mechanic, the engagement population fit over all its fitted users (pooled in
    user-id order, whatever the partitions): each user's posterior values and log Bayes factor
    fill the `ENGAGEMENT_POPULATION_COLUMNS`. `users` must be sorted by (mechanic, user_id)."""
    names = sorted({name for p in parts for name in p.engagement})
    if not names or not len(users):
        return users, {}
    cols = {k: np.array(users[k], dtype=np.float64) for k in ENGAGEMENT_POPULATION_COLUMNS}
    mech = users["mechanic"].astype(str)
    uid = users["user_id"].astype(str)
    fitted = users["fit_status"] == engagement.STATUS_NAMES[engagement.FITTED]
    fits: dict[str, engagement.EngagementPopulation] = {}
    for name in names:
        pool = engagement.EngagementGrids.pooled(
            [p.engagement[name] for p in parts if name in p.engagement]
        )
        rows = np.flatnonzero((mech == name) & fitted)
        if not np.array_equal(uid[rows], pool.key.astype(str)):
            raise ValueError(f"engagement grids of mechanic {name!r} do not match its users")
        pop = engagement.fit_population(
            pool, _engagement_config(config), engagement.PopulationConfig()
        )
        values = (
            pop.alpha, pop.alpha_lo, pop.alpha_hi, pop.b_v, pop.b_v_lo, pop.b_v_hi,
            pop.b_delta, pop.b_delta_lo, pop.b_delta_hi, pop.log_bf,
        )  # fmt: skip
        for k, v in zip(ENGAGEMENT_POPULATION_COLUMNS, values, strict=True):
            cols[k][rows] = v
        fits[name] = pop
    return users.with_columns(**cols), fits


def _engagement_summary(pop: engagement.EngagementPopulation | None) -> dict[str, Any]:
    """The mechanic's engagement population: the prior over (logit α, b₀, b_V, b_δ), the
    users pooled, their posterior b_δ (quantiles of the posterior means, and the shares whose
    interval excludes zero on either side) and the integrated BIC against no learning."""
    if pop is None:
        return {}
    names = ("logit_alpha", "b0", "b_v", "b_delta")
    return {
        "engagement_population": {
            "prior": pop.prior,
            "users": int(pop.log_bf.shape[0]),
            "mean": dict(zip(names, pop.mean.tolist(), strict=True)),
            "sd": dict(zip(names, np.sqrt(pop.var).tolist(), strict=True)),
            "iterations": pop.iterations,
            "converged": pop.converged,
            "b_delta": _quantiles(pop.b_delta),
            # users whose 95 % posterior interval of b_δ lies below (above) zero
            "b_delta_negative_share": float(np.mean(pop.b_delta_hi < 0.0)),
            "b_delta_positive_share": float(np.mean(pop.b_delta_lo > 0.0)),
            "ibic": pop.ibic,
            "ibic_no_learning": pop.ibic_null,
            "ibic_delta": pop.ibic - pop.ibic_null,
            "preferred": "learning" if pop.ibic < pop.ibic_null else "no_learning",
        }
    }


def _choice_config(config: AnalysisConfig) -> choice_model.ChoiceConfig:
    return choice_model.ChoiceConfig(
        alpha_grid=config.alpha_grid,
        alpha_min=config.alpha_min,
        alpha_max=config.alpha_max,
        beta_max=config.beta_max,
        v0=config.v0,
    )


def _choice_columns(
    trials: Trials, option: NDArray[np.int32], r_scaled: NDArray[np.float64], config: AnalysisConfig
) -> tuple[dict[str, NDArray[Any]], dict[str, choice_model.ChoiceGrids]]:
    """The choice model over each user's choice set: the options they chose at least once (a
    set that does not depend on how users are partitioned).

    Maximum-likelihood fits per user, and each fitted user's grid likelihood by mechanic for
    the population fit at the merge (`_choice_population`), which replaces choice_alpha(_lo/
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
        config=_choice_config(config),
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


def _choice_population(
    users: UserTable, parts: Sequence[PartialAnalysis], config: AnalysisConfig
) -> tuple[UserTable, dict[str, choice_model.PopulationFit]]:
    """Per mechanic, the population fit over all its fitted choice users (pooled in user-id
    order, whatever the partitions), whose posterior modes and intervals replace the users'
    maximum-likelihood α and β. `users` must be sorted by (mechanic, user_id)."""
    names = sorted({name for p in parts for name in p.choice})
    if not names or not len(users):
        return users, {}
    keys = ("choice_alpha", "choice_alpha_lo", "choice_alpha_hi", "beta", "beta_lo", "beta_hi")
    cols = {k: np.array(users[k], dtype=np.float64) for k in keys}
    mech = users["mechanic"].astype(str)
    uid = users["user_id"].astype(str)
    fitted = users["choice_status"] == choice_model.STATUS_NAMES[choice_model.FITTED]
    fits: dict[str, choice_model.PopulationFit] = {}
    for name in names:
        pool = choice_model.ChoiceGrids.pooled([p.choice[name] for p in parts if name in p.choice])
        rows = np.flatnonzero((mech == name) & fitted)
        if not np.array_equal(uid[rows], pool.key.astype(str)):
            raise ValueError(f"choice grids of mechanic {name!r} do not match its users")
        pop = choice_model.fit_population(pool, _choice_config(config))
        for k, v in zip(
            keys,
            (pop.alpha, pop.alpha_lo, pop.alpha_hi, pop.beta, pop.beta_lo, pop.beta_hi),
            strict=True,
        ):
            cols[k][rows] = v
        fits[name] = pop
    return users.with_columns(**cols), fits


def _choice_summary(pop: choice_model.PopulationFit | None) -> dict[str, Any]:
    """The mechanic's choice population: the prior over (logit α, log β) and model comparison."""
    if pop is None:
        return {}
    bics = {"learning": pop.ibic, "fixed_preference": pop.bic_preference, "random": pop.bic_random}
    return {
        "choice_population": {
            "prior": pop.prior,
            "mean": {"logit_alpha": float(pop.mean[0]), "log_beta": float(pop.mean[1])},
            "cov": pop.cov.tolist(),
            "em_iterations": pop.iterations,
            "em_converged": pop.converged,
            "ibic": pop.ibic,
            "bic_fixed_preference": pop.bic_preference,
            "bic_random": pop.bic_random,
            "preferred": min(bics, key=lambda k: bics[k]),
        }
    }


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


# ------------------------------------------------------------------ merged result


@dataclass(frozen=True, kw_only=True)
class MechanicReport:
    """One mechanic of the report: its schedule, user and marker summaries, findings, charts."""

    mechanic: str
    schedule: Schedule
    users: dict[str, Any]
    markers: dict[str, Any]
    findings: tuple[Finding, ...]
    charts: dict[str, Any]
    not_assessable: tuple[NotAssessable, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        s = self.schedule
        evidence = dict(s.evidence)
        evidence["valuable_outcome"] = s.outcome
        evidence["reward_uncertainty"] = s.reward_uncertainty
        if s.bonus is not None:
            evidence["bonus"] = s.bonus
        out: dict[str, Any] = jsonable(
            {
                "mechanic": self.mechanic,
                "schedule": {
                    "kind": s.kind,
                    "confidence": s.confidence,
                    "slot_machine_confidence": s.slot_machine_confidence,
                    "reward_probability": s.reward_probability,
                    "mean_ratio": s.mean_ratio,
                    "ratio_cv": s.ratio_cv,
                    "mean_interval_s": s.mean_interval_s,
                    "interval_cv": s.interval_cv,
                    "magnitude_cv": s.magnitude_cv,
                    "evidence": evidence,
                },
                "users": self.users,
                "markers": self.markers,
                "findings": [f.as_dict() for f in self.findings],
                "not_assessable": [a.as_dict() for a in self.not_assessable],
                "charts": self.charts,
            }
        )
        return out


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """A complete audit result (immutable).

    mechanics: per mechanic, sorted by name; findings: all findings, mechanic by mechanic in
    decision-table order; users: the per-(user, mechanic) table sorted by (mechanic, user_id);
    inputs: events, responses, users, first and last event time.
    """

    config: AnalysisConfig
    rules_version: str
    mechanics: tuple[MechanicReport, ...]
    findings: tuple[Finding, ...]
    users: UserTable
    inputs: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The report's "mechanics" and "findings": plain JSON values, no NaN."""
        return {
            "mechanics": [m.as_dict() for m in self.mechanics],
            "findings": [jsonable(f.as_dict()) for f in self.findings],
        }

    def user_records(self) -> Iterator[tuple[Any, ...]]:
        """One tuple of plain values per (user, mechanic), in (mechanic, user_id) order, the
        fields named by `USER_RECORD`: the flat form of a user row, which `user_row` nests.

        Each column is converted to plain values once (`column_values`, vectorised), then the
        records are zipped from the lists: the same values, bit for bit, as converting every
        row's numpy scalars one by one, at a small fraction of the cost.
        """
        if not len(self.users):
            return
        c = self.users.columns
        columns = [column_values(c[name]) for name in _ROW_COLUMNS]
        tiers = [TIERS[i] for i in np.asarray(c["risk_tier"], dtype=np.int64).tolist()]
        # the markers that raised each row's tier, as a bit mask → their names
        names = [name for name, _ in RISK_MARKERS]
        mask = np.zeros(len(self.users), dtype=np.int64)
        for j, name in enumerate(names):
            mask |= np.asarray(c[f"raised_{name}"], dtype=np.int64) << j
        combos = {
            m: tuple(n for j, n in enumerate(names) if m >> j & 1) for m in np.unique(mask).tolist()
        }
        raised_by = [combos[m] for m in mask.tolist()]
        yield from zip(*columns, tiers, raised_by, strict=True)

    def user_rows(self) -> Iterator[dict[str, Any]]:
        """One JSON-able dict per (user, mechanic), in (mechanic, user_id) order: the API's
        per-user row, `user_row` of each of `user_records`."""
        for record in self.user_records():
            yield user_row(record)


def user_row(record: Sequence[Any]) -> dict[str, Any]:
    """The per-user row (nested, as the API serves it) of a record of `USER_RECORD` fields."""
    (
        user_id, mechanic, responses, alpha, alpha_lo, alpha_hi, beta, b_delta,
        spend, night_share, session_escalation, frequency_escalation, post_reward_pause,
        rpe_persistence, rpe_balance, front_loading, option_concentration,
        aversive_share, aversive_expectation, discount_k,
        fit_status, alpha_source, sessions, n_obs, engagement_alpha,
        engagement_alpha_lo, engagement_alpha_hi, b0, b_v, b_delta_se, b_delta_p,
        loglik, loglik_null, lr_stat, p_value, aic_delta, reward_scale,
        choice_status, choices, choice_alpha, choice_alpha_lo, choice_alpha_hi,
        choice_loglik, discount_status, wait_or_pay, indifference_delay_s, price_share,
        local_time_responses, night_p, session_escalation_p, frequency_escalation_p,
        chase_stake_effect, chase_p,
        tier, raised,
    ) = record  # fmt: skip
    return {
        "user_id": user_id,
        "mechanic": mechanic,
        "responses": responses,
        "alpha": alpha,
        "alpha_ci": [alpha_lo, alpha_hi],
        "beta": beta,
        "b_delta": b_delta,
        "risk_tier": tier,
        "raised_by": list(raised),
        "markers": {
            "spend": spend,
            "night_share": night_share,
            "session_escalation": session_escalation,
            "frequency_escalation": frequency_escalation,
            "post_reward_pause": post_reward_pause,
            "rpe_persistence": rpe_persistence,
            "rpe_balance": rpe_balance,
            "front_loading": front_loading,
            "option_concentration": option_concentration,
            "aversive_share": aversive_share,
            "aversive_expectation": aversive_expectation,
            "discount_k": discount_k,
            "local_time_responses": local_time_responses,
            "chase_stake_effect": chase_stake_effect,
        },
        "tests": {
            "loss_chasing_p": chase_p,
            "night_play_p": night_p,
            "session_escalation_p": session_escalation_p,
            "frequency_escalation_p": frequency_escalation_p,
        },
        "fit": {
            "status": fit_status,
            "alpha_source": alpha_source,
            "sessions": sessions,
            "decisions": n_obs,
            "alpha": engagement_alpha,
            "alpha_ci": [engagement_alpha_lo, engagement_alpha_hi],
            "b0": b0,
            "b_v": b_v,
            "b_delta": b_delta,
            "b_delta_se": b_delta_se,
            "b_delta_p": b_delta_p,
            "loglik": loglik,
            "loglik_null": loglik_null,
            "lr_stat": lr_stat,
            "p_value": p_value,
            "aic_delta": aic_delta,
            "reward_scale": reward_scale,
            "choice": {
                "status": choice_status,
                "choices": choices,
                "alpha": choice_alpha,
                "alpha_ci": [choice_alpha_lo, choice_alpha_hi],
                "beta": beta,
                "loglik": choice_loglik,
            },
            "discounting": {
                "status": discount_status,
                "offers": wait_or_pay,
                "k": discount_k,
                "indifference_delay_s": indifference_delay_s,
                "price_share": price_share,
            },
        },
    }


# the per-user table's columns in a user record, in the order `user_row` unpacks them
_ROW_COLUMNS: tuple[str, ...] = (
    "user_id", "mechanic", "responses", "alpha", "alpha_lo", "alpha_hi", "beta", "b_delta",
    "spend", "night_share", "session_escalation", "frequency_escalation", "post_reward_pause",
    "rpe_persistence", "rpe_balance", "front_loading", "option_concentration",
    "aversive_share", "aversive_expectation", "discount_k",
    "fit_status", "alpha_source", "sessions", "n_obs", "engagement_alpha",
    "engagement_alpha_lo", "engagement_alpha_hi", "b0", "b_v", "b_delta_se", "b_delta_p",
    "loglik", "loglik_null", "lr_stat", "p_value", "aic_delta", "reward_scale",
    "choice_status", "choices", "choice_alpha", "choice_alpha_lo", "choice_alpha_hi",
    "choice_loglik", "discount_status", "wait_or_pay", "indifference_delay_s", "price_share",
    "local_time_responses", "night_p", "session_escalation_p", "frequency_escalation_p",
    "chase_stake_effect", "chase_p",
)  # fmt: skip
# The fields of a user record (`Analysis.user_records`), in order: the table's columns, then
# the risk tier's name and the names of the markers that raised it.
USER_RECORD: tuple[str, ...] = (*_ROW_COLUMNS, "risk_tier", "raised_by")


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
    effective = next((p.config for p in parts if p.events), parts[0].config)
    base = dataclasses.replace(config, observed_until=None, partition_events=0)
    for p in parts:
        if dataclasses.replace(p.config, observed_until=None, partition_events=0) != base:
            raise ValueError("partitions were analysed with a different configuration")
    users = UserTable.concatenate([p.users for p in parts])
    if len(users):
        users = users.take(
            np.lexsort((users["user_id"].astype(str), users["mechanic"].astype(str)))
        )
    users, choice_fits = _choice_population(users, parts, config)
    users, engagement_pops = _engagement_population(users, parts, config)
    names = sorted({name for p in parts for name in p.mechanics})
    reports: list[MechanicReport] = []
    findings: list[Finding] = []
    kinds: dict[str, str] = {}
    schedules: dict[str, Schedule] = {}
    sums: dict[str, MechanicPartial] = {}
    for i, name in enumerate(names):
        pieces = [p.mechanics[name] for p in parts if name in p.mechanics]
        sums[name] = _sum_partials(pieces)
        schedules[name] = identify(sums[name].schedule)
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
                users=_user_summary(sub)
                | _engagement_summary(engagement_pops.get(name))
                | _choice_summary(choice_fits.get(name)),
                markers=_marker_summary(sub, sums[name], schedule),
                findings=found,
                charts=_charts(sub, sums[name], schedule),
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
        chase_effect=col("chase_stake_effect"),
        chase_tested=flag("tested_loss_chasing"),
        chase_flagged=flag("raised_loss_chasing"),
        night_tested=flag("tested_night_play"),
        night_flagged=flag("raised_night_play"),
    )


def _quantiles(x: NDArray[Any]) -> dict[str, float]:
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


def _user_summary(sub: UserTable) -> dict[str, Any]:
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
        "alpha": _quantiles(sub["alpha"][has_alpha]),
        "alpha_identified_share": _share(
            (sub["alpha_hi"] - sub["alpha_lo"] < 0.5) & has_alpha, has_alpha
        ),
        "b_delta": _quantiles(sub["b_delta"][eng_ok]),
        "b_v": _quantiles(sub["b_v"][eng_ok]),
        "continue_after_losses_share": _share(after_losses, eng_ok),
        "rpe_driven_share": _share(driven, eng_ok),
        "choice_fitted": int(choice_ok.sum()),
        "beta": _quantiles(sub["beta"][choice_ok]),
        "discount_fitted": int((sub["discount_status"] == "fitted").sum()),
        "risk_tiers": {name: int(tiers[i]) for i, name in enumerate(TIERS)},
    }


def _marker_summary(sub: UserTable, sums: MechanicPartial, s: Schedule) -> dict[str, Any]:
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
            "negative_rpe_share": _share(balance <= NEGATIVE_RPE_BALANCE, has_balance),
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


def _charts(sub: UserTable, sums: MechanicPartial, s: Schedule) -> dict[str, Any]:
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


def analyse(
    columns: EventColumns,
    *,
    config: AnalysisConfig,
    table: DecisionTable,
    progress: Progress | None = None,
) -> Analysis:
    """Audit the events: partitions of at most `config.partition_events` events by user,
    analysed one after the other and merged (see the module docstring)."""
    config.check()
    config = _resolved(columns, config)
    n_parts = max(1, math.ceil(len(columns) / config.partition_events))
    parts = split_by_user(columns, n_parts)
    partials = []
    for i, part in enumerate(parts):
        if progress is not None:
            progress("fits", i, len(parts))
        partials.append(analyse_partition(part, config=config))
    if progress is not None:
        progress("fits", len(parts), len(parts))
    return merge(partials, config=config, table=table, progress=progress)


__all__ = [
    "SLOT_MACHINE_KINDS",
    "Analysis",
    "AnalysisConfig",
    "MechanicReport",
    "PartialAnalysis",
    "UserTable",
    "analyse",
    "analyse_partition",
    "iter_user_partitions",
    "merge",
    "split_by_user",
]
