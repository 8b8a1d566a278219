"""What a simulated product is made of (its mechanics' schedules and populations of users) and
what a simulation returns: the event log and the ground truth of every track."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.columns import NO_OPTION, OFFSET_UNKNOWN, RESPONSE, EventColumns

SESSION_GAP_S = 1800.0  # matches AnalysisConfig.session_gap_s's default


EPOCH_2026_05_01 = 1777593600.0  # 2026-05-01T00:00:00Z


DAY_S = 86400.0


KINDS: tuple[str, ...] = (
    "continuous",
    "fixed_ratio",
    "variable_ratio",
    "pity",
    "fixed_interval",
    "variable_interval",
    "extinction",
)


_CRF, _FR, _VR, _PITY, _FI, _VI, _EXT = range(7)


@dataclass(frozen=True, kw_only=True)
class ScheduleSpec:
    """How a mechanic pays. `kind` is the ground-truth schedule kind (one of KINDS).

    ratio:            fixed_ratio: responses per reward; variable_ratio: mean responses per win
                      (win probability 1/ratio per response, independent: a random-ratio schedule)
    ratio_spread:     variable_ratio: log spread of a per-user odds multiplier (personalised odds)
    session_reset:    fixed_ratio / pity: the count restarts with every session ("5 in a row")
    pity_base, pity_soft_start, pity_soft_step, pity_cap:
                      pity: hazard p₀ before the soft start, rising by `pity_soft_step` per
                      response from it, and 1 at the cap (0.6 %, 74, 6 %, 90 is a well-known gacha)
    interval_s:       fixed_interval: the interval; variable_interval: the mean interval
    calendar:         fixed_interval resets at local midnight (a daily reward) instead of
                      `interval_s` after the last reward
    poisson:          variable_interval: rewards arrive as a Poisson process and every response
                      collects all that arrived (likes on refresh); value = count × magnitude.
                      Otherwise one reward is armed after an exponential interval and held
    values, probabilities, lognormal_sigma:
                      magnitude of a win: a tier drawn from `values` with `probabilities`, times
                      lognormal noise exp(σZ − σ²/2)
    consolation:      value paid on every response that does not win (a lottery: every pull yields
                      something); 0: nothing
    log_nothing:      probability that a response without reward logs a reward event of value 0
    cost:             cost of each response (times the user's spend multiplier)
    bonus_value, bonus_probability:
                      an independent random bonus on any response (a fixed reward plus a
                      variable bonus)
    decay:            magnitudes shrink as exp(−decay·n) with the user's response count n
                      (front-loaded rewards)
    streak_loss:      fixed_interval: an aversive outcome of this size (logged as a negative value)
                      when the user claims after missing a whole interval
    option_probabilities, option_decay, option_names:
                      a choice among options, each paying `values[0]` with its probability
                      (times exp(−decay·n))
    wait_or_pay:      every response is an offer to wait delay d (log-uniform on `delay_range_s`)
                      or pay `price_share` × the reward to get it now
    reward_scale:     the users' learning and engagement work on r / reward_scale
    """

    kind: str
    ratio: float = 1.0
    ratio_spread: float = 0.0
    session_reset: bool = False
    pity_base: float = 0.006
    pity_soft_start: int = 0
    pity_soft_step: float = 0.0
    pity_cap: int = 90
    interval_s: float = DAY_S
    calendar: bool = False
    poisson: bool = True
    values: tuple[float, ...] = (1.0,)
    probabilities: tuple[float, ...] = (1.0,)
    lognormal_sigma: float = 0.0
    consolation: float = 0.0
    log_nothing: float = 0.0
    cost: float = 0.0
    bonus_value: float = 0.0
    bonus_probability: float = 0.0
    decay: float = 0.0
    streak_loss: float = 0.0
    option_probabilities: tuple[float, ...] = ()
    option_decay: tuple[float, ...] = ()
    option_names: tuple[str, ...] = ()
    wait_or_pay: bool = False
    delay_range_s: tuple[float, float] = (60.0, DAY_S)
    price_share: float = 0.3
    reward_scale: float = 1.0


@dataclass(frozen=True, kw_only=True)
class PopulationSpec:
    """The simulated users of one mechanic; ranges are sampled uniformly per user.

    responses:         per-user target response count, log-uniform on the range; the user stops
                       at the end of the session in which the target is reached
    exact_responses:   stop exactly at the target (choice tasks)
    one_off_share:     share of users who respond once and never return
    alpha, b0, b_v, b_delta: Rescorla-Wagner learning rate and engagement weights
    loss_chaser_share: share of users whose b_δ is drawn from `loss_chaser_b_delta` instead
                       and who multiply their stake by `loss_chaser_stake` after a losing paid
                       response of the same session (chasing: raising the stake to win it back)
    beta:              softmax inverse temperature for choices
    discount_k:        hyperbolic discount rate per second, log-uniform; choice noise `wait_noise`
    tempo_s:           median within-session inter-response time; `tempo_sigma` its log spread
    gap_s:             median between-session gap (at least the session gap is always added)
    session_trend:     change of b₀ per session (> 0 sessions grow: escalation; < 0 habituation)
    gap_trend:         change of log gap per session (< 0: sessions become more frequent)
    night_owl_share:   share of users whose sessions start around midnight local time (others
                       start sessions only between 07:00 and 24:00)
    utc_offsets_h:     users' time zones, assigned round-robin by a uniform draw
    spend_sigma:       log spread of the per-user stake multiplier (mean 1): costs and payouts of
                       paid mechanics scale with it, as bets do
    start_spread_s:    users' first responses are spread uniformly over this span
    """

    n_users: int = 50
    responses: tuple[float, float] = (20.0, 200.0)
    exact_responses: bool = False
    one_off_share: float = 0.0
    alpha: tuple[float, float] = (0.05, 0.5)
    b0: tuple[float, float] = (1.0, 3.0)
    b_v: tuple[float, float] = (0.0, 0.0)
    b_delta: tuple[float, float] = (0.0, 0.0)
    loss_chaser_share: float = 0.0
    loss_chaser_b_delta: tuple[float, float] = (-3.0, -1.5)
    loss_chaser_stake: float = 1.0
    beta: tuple[float, float] = (1.0, 10.0)
    discount_k: tuple[float, float] = (1e-5, 1e-2)
    wait_noise: float = 20.0
    tempo_s: float = 5.0
    tempo_sigma: float = 0.5
    gap_s: float = 6 * 3600.0
    session_trend: float = 0.0
    gap_trend: float = 0.0
    night_owl_share: float = 0.0
    utc_offsets_h: tuple[float, ...] = (0.0,)
    spend_sigma: float = 0.0
    start_spread_s: float = 7 * DAY_S


@dataclass(frozen=True, kw_only=True)
class MechanicSpec:
    name: str
    schedule: ScheduleSpec
    population: PopulationSpec = field(default_factory=PopulationSpec)


@dataclass(frozen=True, kw_only=True)
class ProductSpec:
    """A product: its mechanics, and whether they share users.

    shared_users: user j of every mechanic is the same person ("u00000"…), with one time zone,
                  start time and night habit; otherwise each mechanic has its own users.
    """

    mechanics: tuple[MechanicSpec, ...]
    shared_users: bool = True
    start: float = EPOCH_2026_05_01


@dataclass(frozen=True, kw_only=True)
class TrackTruth:
    """Ground truth of every (user, mechanic) track, (n_tracks,) arrays, codes as in the events."""

    user: NDArray[np.int64]
    mechanic: NDArray[np.int32]
    alpha: NDArray[np.float64]
    b0: NDArray[np.float64]
    b_v: NDArray[np.float64]
    b_delta: NDArray[np.float64]
    beta: NDArray[np.float64]
    discount_k: NDArray[np.float64]
    night_owl: NDArray[np.bool_]
    utc_offset_s: NDArray[np.int32]
    responses: NDArray[np.int64]


@dataclass(frozen=True, kw_only=True)
class SimulatedProduct:
    """A simulated event log (native events as columns) and its ground truth.

    Events are in simulation order (not sorted). Codes index the sorted name tuples.
    """

    events: EventColumns
    spec: ProductSpec
    tracks: TrackTruth

    def __len__(self) -> int:
        return len(self.events)

    def truth_kind(self, mechanic: str) -> str:
        """The ground-truth schedule kind of a mechanic."""
        return next(m.schedule.kind for m in self.spec.mechanics if m.name == mechanic)

    def native_events(self, *, id_prefix: str = "sim") -> list[dict[str, Any]]:
        """The events as native JSON objects, ready to post.

        Timestamps are RFC 3339 UTC with milliseconds (simulated times are whole milliseconds,
        so they round-trip exactly); the zone offset goes into `properties.utc_offset_s` and a
        wait-or-pay offer's wait into `properties.delay_s`.
        """
        e = self.events
        stamps = np.datetime_as_string(
            np.round(e.t * 1000.0).astype(np.int64).astype("datetime64[ms]"), unit="ms"
        )
        out: list[dict[str, Any]] = []
        for i in range(len(self)):
            is_response = int(e.kind[i]) == RESPONSE
            props: dict[str, Any] = {}
            if int(e.utc_offset_s[i]) != OFFSET_UNKNOWN:
                props["utc_offset_s"] = int(e.utc_offset_s[i])
            if is_response and np.isfinite(e.delay_s[i]):
                props["delay_s"] = float(e.delay_s[i])
            event: dict[str, Any] = {
                "user_id": e.user_ids[int(e.user[i])],
                "timestamp": f"{stamps[i]}Z",
                "mechanic": e.mechanics[int(e.mechanic[i])],
                "kind": "response" if is_response else "reward",
                "message_id": f"{id_prefix}-{i}",
            }
            if is_response:
                event["cost"] = float(e.cost[i])
                opt = int(e.option[i])
                event["option"] = e.options[opt] if opt != NO_OPTION else None
            else:
                event["value"] = float(e.value[i])
            if props:
                event["properties"] = props
            out.append(event)
        return out
