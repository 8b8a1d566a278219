"""Seeded simulators of products with known reinforcement schedules and known users.

A product is a set of mechanics; each mechanic has a reinforcement schedule (Ferster & Skinner
1957) and a population of simulated users. Each (user, mechanic) pair is a *track*. Users learn
the mechanic's reward by Rescorla-Wagner with their own α and, after each response, continue
the session or stop by the engagement model (`models.engagement`),

    P(continue) = σ(b₀ + trend·session + b_V·Vₜ₊₁ + b_δ·δₜ),

or choose among options by softmax over learned values (hBayesDM `bandit2arm_delta`), or, for
wait-or-pay offers, by hyperbolic discounting V = A / (1 + k·delay) (Mazur 1987). Users differ in
response tempo, session habits, time zone and night-owlishness. The output is the event log in
the native format (`service/events.py`) plus the ground truth, so every figure the models produce
can be tested against a known answer (Wilson & Collins 2019, rule 3: simulate, simulate, simulate).

Simulation steps through response positions, vectorised across all tracks at once; the models'
hot paths never call this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.columns import NO_OPTION, NO_SESSION, OFFSET_UNKNOWN, RESPONSE, REWARD, EventColumns

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

    def columns(self) -> EventColumns:
        """The events as `EventColumns` (codes already sorted; no string encoding needed)."""
        return self.events

    def native_events(self, *, id_prefix: str = "sim") -> list[dict[str, Any]]:
        """The events as native JSON objects, ready to post.

        Timestamps are RFC 3339 UTC with milliseconds (simulated times are whole milliseconds,
        so they round-trip exactly); the zone offset goes into `properties.utc_offset_s` and a
        wait-or-pay offer's wait into `properties.delay_s`.
        """
        ev = self.events
        stamps = np.datetime_as_string(
            np.round(ev.t * 1000.0).astype(np.int64).astype("datetime64[ms]"), unit="ms"
        )
        out: list[dict[str, Any]] = []
        for i in range(len(self)):
            is_response = int(ev.kind[i]) == RESPONSE
            props: dict[str, Any] = {}
            if int(ev.utc_offset_s[i]) != OFFSET_UNKNOWN:
                props["utc_offset_s"] = int(ev.utc_offset_s[i])
            if is_response and np.isfinite(ev.delay_s[i]):
                props["delay_s"] = float(ev.delay_s[i])
            event: dict[str, Any] = {
                "user_id": ev.user_ids[int(ev.user[i])],
                "timestamp": f"{stamps[i]}Z",
                "mechanic": ev.mechanics[int(ev.mechanic[i])],
                "kind": "response" if is_response else "reward",
                "message_id": f"{id_prefix}-{i}",
            }
            if is_response:
                event["cost"] = float(ev.cost[i])
                opt = int(ev.option[i])
                event["option"] = ev.options[opt] if opt != NO_OPTION else None
            else:
                event["value"] = float(ev.value[i])
            if props:
                event["properties"] = props
            out.append(event)
        return out


def _uniform(rng: np.random.Generator, bounds: tuple[float, float], n: int) -> NDArray[np.float64]:
    return rng.uniform(bounds[0], bounds[1], n) if bounds[1] > bounds[0] else np.full(n, bounds[0])


def _log_uniform(
    rng: np.random.Generator, bounds: tuple[float, float], n: int
) -> NDArray[np.float64]:
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    return np.exp(rng.uniform(lo, hi, n)) if hi > lo else np.full(n, bounds[0])


def _expit(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _local_hour(t: NDArray[np.float64], offset: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.mod(t + offset, DAY_S) / 3600.0


def _next_local(
    t: NDArray[np.float64], offset: NDArray[np.float64], hour: float
) -> NDArray[np.float64]:
    """The first time ≥ t at which the local clock shows `hour`."""
    local = t + offset
    day = np.floor(local / DAY_S) * DAY_S
    target = day + hour * 3600.0
    target = np.where(target < local, target + DAY_S, target)
    return target - offset


def _waking_hours(
    t: NDArray[np.float64],
    offset: NDArray[np.float64],
    owl: NDArray[np.bool_],
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Move session starts into the user's habitual hours: day users start between 07:00 and
    24:00 local, night owls around midnight (23:00–03:00)."""
    hour = _local_hour(t, offset)
    day_fix = ~owl & (hour < 7.0)
    t = np.where(day_fix, _next_local(t, offset, 7.0) + rng.uniform(0, 3 * 3600, t.size), t)
    owl_fix = owl & (hour >= 4.0) & (hour < 23.0)
    return np.where(owl_fix, _next_local(t, offset, 23.0) + rng.uniform(0, 4 * 3600, t.size), t)


def simulate_product(spec: ProductSpec, seed: int) -> SimulatedProduct:
    """Simulate every track of the product; returns the event log and the truth."""
    rng = np.random.default_rng(seed)
    mechs = spec.mechanics
    n_mech = len(mechs)
    names = tuple(m.name for m in mechs)
    if len(set(names)) != n_mech or list(names) != sorted(names):
        raise ValueError("mechanic names must be unique and given in sorted order")

    # ---- tracks and user identities
    track_mech_l: list[NDArray[np.int64]] = []
    track_userj_l: list[NDArray[np.int64]] = []
    for m, ms in enumerate(mechs):
        track_mech_l.append(np.full(ms.population.n_users, m, dtype=np.int64))
        track_userj_l.append(np.arange(ms.population.n_users, dtype=np.int64))
    mech = np.concatenate(track_mech_l)
    userj = np.concatenate(track_userj_l)
    n_tr = int(mech.shape[0])
    if spec.shared_users:
        width = max(5, len(str(max(int(userj.max()) + 1, 1))))
        user_names = np.array(
            [f"u{j:0{width}d}" for j in range(int(userj.max()) + 1)], dtype=object
        )
        user_key = userj
        n_people = int(userj.max()) + 1
    else:
        user_names = np.array(
            [f"{names[m]}-u{j:05d}" for m, j in zip(mech.tolist(), userj.tolist(), strict=True)],
            dtype=object,
        )
        user_key = np.arange(n_tr, dtype=np.int64)
        n_people = n_tr
    uniq, inverse = np.unique(
        user_names[user_key] if spec.shared_users else user_names, return_inverse=True
    )
    user_code = inverse.astype(np.int64)
    user_ids = tuple(str(u) for u in uniq)

    # ---- per-person attributes (shared across a person's tracks when users are shared)
    person_zone_draw = rng.random(n_people)
    person_owl_draw = rng.random(n_people)
    person_start_draw = rng.random(n_people)
    person_spend = rng.standard_normal(n_people)

    def per_track(values: list[NDArray[np.float64]]) -> NDArray[np.float64]:
        return np.concatenate(values)

    pops = [ms.population for ms in mechs]
    scheds = [ms.schedule for ms in mechs]

    def draw(fn: Any) -> NDArray[np.float64]:
        return per_track(
            [
                np.asarray(fn(p, s, p.n_users), dtype=np.float64)
                for p, s in zip(pops, scheds, strict=True)
            ]
        )

    alpha = draw(lambda p, s, n: _uniform(rng, p.alpha, n))
    b0 = draw(lambda p, s, n: _uniform(rng, p.b0, n))
    b_v = draw(lambda p, s, n: _uniform(rng, p.b_v, n))
    b_delta = draw(lambda p, s, n: _uniform(rng, p.b_delta, n))
    chaser = draw(lambda p, s, n: rng.random(n) < p.loss_chaser_share) > 0.5
    b_chase = draw(lambda p, s, n: _uniform(rng, p.loss_chaser_b_delta, n))
    b_delta = np.where(chaser, b_chase, b_delta)
    chase_stake = np.where(chaser, draw(lambda p, s, n: np.full(n, p.loss_chaser_stake)), 1.0)
    beta = draw(lambda p, s, n: _uniform(rng, p.beta, n))
    disc_k = draw(lambda p, s, n: _log_uniform(rng, p.discount_k, n))
    target = np.maximum(
        1, np.round(draw(lambda p, s, n: _log_uniform(rng, p.responses, n)))
    ).astype(np.int64)
    one_off = draw(lambda p, s, n: rng.random(n) < p.one_off_share) > 0.5
    target = np.where(one_off, 1, target)
    tempo = draw(lambda p, s, n: p.tempo_s * np.exp(0.5 * rng.standard_normal(n)))
    tempo_sigma = draw(lambda p, s, n: np.full(n, p.tempo_sigma))
    gap_med = draw(lambda p, s, n: p.gap_s * np.exp(0.5 * rng.standard_normal(n)))
    session_trend = draw(lambda p, s, n: np.full(n, p.session_trend))
    gap_trend = draw(lambda p, s, n: np.full(n, p.gap_trend))
    exact = draw(lambda p, s, n: np.full(n, p.exact_responses)) > 0.5
    wait_noise = draw(lambda p, s, n: np.full(n, p.wait_noise))

    zones = [np.asarray(p.utc_offsets_h, dtype=np.float64) for p in pops]
    zone_idx = [
        np.minimum((person_zone_draw[user_key[mech == m]] * len(z)).astype(np.int64), len(z) - 1)
        for m, z in enumerate(zones)
    ]
    offset = np.round(per_track([z[i] * 3600.0 for z, i in zip(zones, zone_idx, strict=True)]))
    owl = (
        per_track(
            [person_owl_draw[user_key[mech == m]] < p.night_owl_share for m, p in enumerate(pops)]
        )
        > 0.5
    )
    start_spread = np.array([p.start_spread_s for p in pops])[mech]
    spend_sigma = np.array([p.spend_sigma for p in pops])[mech]
    spend_mult = np.exp(spend_sigma * person_spend[user_key] - 0.5 * spend_sigma**2)

    # ---- per-mechanic schedule parameters, gathered per track
    def mech_param(name: str) -> NDArray[np.float64]:
        return np.array([float(getattr(s, name)) for s in scheds], dtype=np.float64)[mech]

    kind_code = np.array([KINDS.index(s.kind) for s in scheds], dtype=np.int64)[mech]
    ratio = mech_param("ratio") * np.exp(mech_param("ratio_spread") * rng.standard_normal(n_tr))
    ratio = np.where(kind_code == _FR, mech_param("ratio"), ratio)
    pity_base = mech_param("pity_base")
    pity_soft = mech_param("pity_soft_start")
    pity_step = mech_param("pity_soft_step")
    pity_cap = mech_param("pity_cap")
    interval = mech_param("interval_s")
    calendar = mech_param("calendar") > 0.5
    session_reset = mech_param("session_reset") > 0.5
    poisson = mech_param("poisson") > 0.5
    sigma_mag = mech_param("lognormal_sigma")
    consolation = mech_param("consolation")
    log_nothing = mech_param("log_nothing")
    base_cost = mech_param("cost") * spend_mult
    bonus_value = mech_param("bonus_value")
    bonus_p = mech_param("bonus_probability")
    decay = mech_param("decay")
    streak_loss = mech_param("streak_loss")
    wop = mech_param("wait_or_pay") > 0.5
    price_share = mech_param("price_share")
    scale = mech_param("reward_scale")
    delay_lo = np.array([s.delay_range_s[0] for s in scheds])[mech]
    delay_hi = np.array([s.delay_range_s[1] for s in scheds])[mech]
    n_tiers = max(len(s.values) for s in scheds)
    tier_values = np.zeros((n_mech, n_tiers))
    tier_cum = np.ones((n_mech, n_tiers))
    for m, s in enumerate(scheds):
        probs = np.asarray(s.probabilities, dtype=np.float64)
        tier_values[m, : len(s.values)] = s.values
        tier_cum[m, : len(s.values)] = np.cumsum(probs / probs.sum())
    n_opts = max([len(s.option_probabilities) for s in scheds] + [1])
    opt_p = np.zeros((n_mech, n_opts))
    opt_decay = np.zeros((n_mech, n_opts))
    has_opts = np.zeros(n_mech, dtype=bool)
    opt_global: list[list[str]] = []
    for m, s in enumerate(scheds):
        k = len(s.option_probabilities)
        if k:
            has_opts[m] = True
            opt_p[m, :k] = s.option_probabilities
            opt_p[m, k:] = -np.inf  # never chosen
            opt_decay[m, :k] = s.option_decay if s.option_decay else 0.0
            opt_global.append(
                list(s.option_names) if s.option_names else [f"option{i}" for i in range(k)]
            )
        else:
            opt_global.append([])
    option_names = sorted(
        {o for lst in opt_global for o in lst} | ({"pay", "wait"} if wop.any() else set())
    )
    opt_code = np.full((n_mech, n_opts), NO_OPTION, dtype=np.int64)
    for m, lst in enumerate(opt_global):
        for i, o in enumerate(lst):
            opt_code[m, i] = option_names.index(o)
    pay_code = option_names.index("pay") if "pay" in option_names else NO_OPTION
    wait_code = option_names.index("wait") if "wait" in option_names else NO_OPTION
    track_has_opts = has_opts[mech]

    # ---- state
    t = _waking_hours(spec.start + person_start_draw[user_key] * start_spread, offset, owl, rng)
    n_done = np.zeros(n_tr, dtype=np.int64)
    session = np.zeros(n_tr, dtype=np.int64)
    v = np.zeros(n_tr)
    q = np.zeros((n_tr, n_opts))
    since_win = np.zeros(n_tr, dtype=np.int64)
    last_win = np.full(n_tr, -np.inf)
    last_resp = np.full(n_tr, np.nan)
    armed = np.full(n_tr, -np.inf)  # a variable-interval reward is waiting at the start
    lost_last = np.zeros(n_tr, dtype=bool)  # the previous response of the session lost money
    active = np.ones(n_tr, dtype=bool)

    ev_track: list[NDArray[np.int64]] = []
    ev_kind: list[NDArray[np.int8]] = []
    ev_t: list[NDArray[np.float64]] = []
    ev_value: list[NDArray[np.float64]] = []
    ev_cost: list[NDArray[np.float64]] = []
    ev_option: list[NDArray[np.int64]] = []
    ev_delay: list[NDArray[np.float64]] = []

    def emit(
        idx: NDArray[np.int64],
        kind: int,
        tt: NDArray[np.float64],
        value: NDArray[np.float64],
        cost: NDArray[np.float64],
        option: NDArray[np.int64],
        delay: NDArray[np.float64],
    ) -> None:
        ev_track.append(idx)
        ev_kind.append(np.full(idx.shape[0], kind, dtype=np.int8))
        ev_t.append(tt)
        ev_value.append(value)
        ev_cost.append(cost)
        ev_option.append(option)
        ev_delay.append(delay)

    while active.any():
        a = np.flatnonzero(active)
        na = a.shape[0]
        ta = np.round(t[a], 3)
        t[a] = ta
        ka = kind_code[a]
        ma = mech[a]
        n_before = n_done[a].astype(np.float64)
        since_win[a] += 1
        sw = since_win[a]
        u_draw = rng.random(na)
        fade = np.exp(-decay[a] * n_before)

        # choices among options (softmax over learned values)
        chosen = np.zeros(na, dtype=np.int64)
        opt_out = np.full(na, NO_OPTION, dtype=np.int64)
        ho = track_has_opts[a]
        if ho.any():
            logits = beta[a][ho, None] * q[a][ho] + np.where(
                np.isfinite(opt_p[ma[ho]]), 0.0, -np.inf
            )
            logits -= logits.max(axis=1, keepdims=True)
            prob = np.exp(logits)
            prob /= prob.sum(axis=1, keepdims=True)
            c = (rng.random(int(ho.sum()))[:, None] > np.cumsum(prob, axis=1)).sum(axis=1)
            c = np.minimum(c, n_opts - 1)
            chosen[ho] = c
            opt_out[ho] = opt_code[ma[ho], c]

        win = np.zeros(na, dtype=bool)
        count = np.ones(na)
        win |= ka == _CRF
        win |= (ka == _FR) & (sw >= ratio[a])
        p_vr = np.where(
            ho,
            np.where(
                ho,
                np.minimum(
                    np.maximum(opt_p[ma, chosen], 0.0) * np.exp(-opt_decay[ma, chosen] * n_before),
                    1.0,
                ),
                0.0,
            ),
            1.0 / np.maximum(ratio[a], 1.0),
        )
        win |= (ka == _VR) & (u_draw < p_vr)
        hazard = np.where(
            sw >= pity_cap[a],
            1.0,
            pity_base[a]
            + np.where(
                (pity_soft[a] > 0) & (sw >= pity_soft[a]),
                pity_step[a] * (sw - pity_soft[a] + 1),
                0.0,
            ),
        )
        win |= (ka == _PITY) & (u_draw < hazard)
        day_now = np.floor((ta + offset[a]) / DAY_S)
        day_last = np.floor((last_win[a] + offset[a]) / DAY_S)
        fi_ready = np.where(calendar[a], day_now > day_last, ta - last_win[a] >= interval[a])
        win |= (ka == _FI) & fi_ready
        vi = ka == _VI
        if vi.any():
            elapsed = np.where(np.isnan(last_resp[a]), interval[a], ta - last_resp[a])
            lam = np.where(vi & poisson[a], elapsed / interval[a], 0.0)
            arrivals = rng.poisson(lam).astype(np.float64)
            vi_win = np.where(poisson[a], arrivals > 0, ta >= armed[a])
            win |= vi & vi_win
            count = np.where(vi & poisson[a], np.maximum(arrivals, 1.0), 1.0)

        # magnitudes
        tier_draw = rng.random(na)
        tier = (tier_draw[:, None] > tier_cum[ma]).sum(axis=1)
        tier = np.minimum(tier, n_tiers - 1)
        noise = np.exp(sigma_mag[a] * rng.standard_normal(na) - 0.5 * sigma_mag[a] ** 2)
        # loss chasers raise the stake after a losing paid response of the same session, and a
        # bigger stake pays proportionally more
        raise_stake = np.where(lost_last[a] & (base_cost[a] > 0), chase_stake[a], 1.0)
        stake = np.where(base_cost[a] > 0, spend_mult[a], 1.0) * raise_stake
        magnitude = tier_values[ma, tier] * noise * count * fade * stake
        gain = np.where(win, magnitude, consolation[a] * fade * stake)
        gain += np.where(rng.random(na) < bonus_p[a], bonus_value[a] * fade, 0.0)
        missed = (
            (ka == _FI)
            & win
            & np.isfinite(last_win[a])
            & np.where(calendar[a], day_now - day_last > 1, ta - last_win[a] > 2 * interval[a])
        )
        loss = np.where(missed, streak_loss[a], 0.0)

        # wait-or-pay offers: hyperbolic value of waiting vs paying now
        delay = np.full(na, np.nan)
        cost = base_cost[a] * raise_stake
        wa = wop[a]
        if wa.any():
            d = np.exp(rng.uniform(np.log(delay_lo[a][wa]), np.log(delay_hi[a][wa])))
            theta = price_share[a][wa]
            utility = (1.0 - theta) - 1.0 / (1.0 + disc_k[a][wa] * d)
            pay = rng.random(int(wa.sum())) < _expit(wait_noise[a][wa] * utility)
            delay[wa] = d
            opt_out[wa] = np.where(pay, pay_code, wait_code)
            cost[wa] = np.where(pay, theta * gain[wa], 0.0)

        emit(a, RESPONSE, ta, np.zeros(na), cost, opt_out, delay)
        has_gain = gain > 0.0
        if has_gain.any():
            emit(
                a[has_gain],
                REWARD,
                ta[has_gain],
                gain[has_gain],
                np.zeros(int(has_gain.sum())),
                np.full(int(has_gain.sum()), NO_OPTION, dtype=np.int64),
                np.full(int(has_gain.sum()), np.nan),
            )
        has_loss = loss > 0.0
        if has_loss.any():
            emit(
                a[has_loss],
                REWARD,
                ta[has_loss],
                -loss[has_loss],
                np.zeros(int(has_loss.sum())),
                np.full(int(has_loss.sum()), NO_OPTION, dtype=np.int64),
                np.full(int(has_loss.sum()), np.nan),
            )
        nothing = ~has_gain & ~has_loss & (rng.random(na) < log_nothing[a])
        if nothing.any():
            k0 = int(nothing.sum())
            emit(
                a[nothing],
                REWARD,
                ta[nothing],
                np.zeros(k0),
                np.zeros(k0),
                np.full(k0, NO_OPTION, dtype=np.int64),
                np.full(k0, np.nan),
            )

        # schedule state
        since_win[a] = np.where(win, 0, since_win[a])
        last_win[a] = np.where(win, ta, last_win[a])
        armed[a] = np.where(win & vi, ta + rng.exponential(1.0, na) * interval[a], armed[a])
        last_resp[a] = ta
        n_done[a] += 1

        # learning, on the outcome net of the stake
        r = (gain - loss - cost) / scale[a]
        if ho.any():
            rows = a[ho]
            q_chosen = q[rows, chosen[ho]]
            d_q = r[ho] - q_chosen
            q[rows, chosen[ho]] = q_chosen + alpha[rows] * d_q
        delta = r - v[a]
        v[a] = v[a] + alpha[a] * delta
        if ho.any():
            delta[ho] = d_q
            v[a[ho]] = q[a[ho], chosen[ho]]

        # continue or stop
        logit = b0[a] + session_trend[a] * session[a] + b_v[a] * v[a] + b_delta[a] * delta
        cont = rng.random(na) < _expit(logit)
        reached = n_done[a] >= target[a]
        done = (reached & (exact[a] | ~cont)) | (n_done[a] >= 3 * target[a] + 50)
        cont &= ~done
        active[a[done]] = False
        lost_last[a] = cont & (gain - loss - cost < 0.0)

        go_on = a[cont & ~done]
        if go_on.size:
            irt = tempo[go_on] * np.exp(tempo_sigma[go_on] * rng.standard_normal(go_on.size))
            t[go_on] = ta[cont & ~done] + np.clip(irt, 0.05, 0.9 * SESSION_GAP_S)
        pause = a[~cont & ~done]
        if pause.size:
            session[pause] += 1
            gap = gap_med[pause] * np.exp(
                gap_trend[pause] * session[pause] + 0.8 * rng.standard_normal(pause.size)
            )
            nxt = ta[~cont & ~done] + 1.05 * SESSION_GAP_S + gap
            t[pause] = _waking_hours(nxt, offset[pause], owl[pause], rng)
            since_win[pause] = np.where(session_reset[pause], 0, since_win[pause])

    track = np.concatenate(ev_track)
    option = np.concatenate(ev_option).astype(np.int32)
    return SimulatedProduct(
        events=EventColumns(
            user=user_code[track],
            mechanic=mech[track].astype(np.int32),
            kind=np.concatenate(ev_kind),
            t=np.concatenate(ev_t),
            value=np.concatenate(ev_value),
            cost=np.concatenate(ev_cost),
            option=option,
            session=np.full(track.shape[0], NO_SESSION, dtype=np.int64),
            utc_offset_s=offset[track].astype(np.int32),
            delay_s=np.concatenate(ev_delay),
            user_ids=user_ids,
            mechanics=names,
            options=tuple(option_names),
        ),
        spec=spec,
        tracks=TrackTruth(
            user=user_code,
            mechanic=mech.astype(np.int32),
            alpha=alpha,
            b0=b0,
            b_v=b_v,
            b_delta=b_delta,
            beta=np.where(track_has_opts, beta, np.nan),
            discount_k=np.where(wop, disc_k, np.nan),
            night_owl=owl,
            utc_offset_s=offset.astype(np.int32),
            responses=n_done,
        ),
    )


# ---------------------------------------------------------------- ready-made products

_VARIANTS: tuple[tuple[str, str], ...] = (
    ("continuous", "plain"),
    ("continuous", "bonus"),
    ("continuous", "front_loaded"),
    ("fixed_ratio", "plain"),
    ("fixed_ratio", "tiers"),
    ("fixed_ratio", "session_reset"),
    ("variable_ratio", "plain"),
    ("variable_ratio", "slot"),
    ("variable_ratio", "lottery"),
    ("variable_ratio", "personalised"),
    ("pity", "soft"),
    ("pity", "hard"),
    ("fixed_interval", "elapsed"),
    ("fixed_interval", "calendar"),
    ("variable_interval", "poisson"),
    ("variable_interval", "armed"),
    ("extinction", "plain"),
    ("extinction", "logged"),
)


def _variant_kind_order(n: int) -> list[tuple[str, str]]:
    """Variants cycling so every kind gets an equal share of mechanics."""
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for kind, variant in _VARIANTS:
        by_kind.setdefault(kind, []).append((kind, variant))
    kinds = list(by_kind)
    out = []
    for i in range(n):
        options = by_kind[kinds[i % len(kinds)]]
        out.append(options[(i // len(kinds)) % len(options)])
    return out


def benchmark_mechanic(
    name: str,
    kind: str,
    variant: str,
    rng: np.random.Generator,
    *,
    users: tuple[int, int] = (20, 200),
    responses: tuple[float, float] = (3.0, 300.0),
) -> MechanicSpec:
    """One mechanic of the schedule benchmark with randomly drawn parameters.

    Ratios 2–50, intervals 10 s–24 h, pity caps 10–90 with 20–80 % of wins before the cap,
    magnitude spreads from constant to 100×, 20–200 users responding 3–300 times (many once).
    """
    magnitude = float(np.exp(rng.uniform(0.0, np.log(100.0))))
    sched: dict[str, Any] = {"kind": kind, "values": (magnitude,), "reward_scale": magnitude}
    interval = float(np.exp(rng.uniform(np.log(10.0), np.log(DAY_S))))
    if kind == "continuous" and variant == "bonus":
        sched |= {
            "bonus_value": magnitude * rng.uniform(2.0, 5.0),
            "bonus_probability": rng.uniform(0.02, 0.12),
        }
    elif kind == "continuous" and variant == "front_loaded":
        sched |= {"decay": float(np.exp(rng.uniform(np.log(1 / 300), np.log(1 / 30))))}
    elif kind == "continuous":
        sched |= {"lognormal_sigma": rng.uniform(0.0, 0.5)}
    elif kind == "fixed_ratio":
        sched |= {"ratio": float(int(np.exp(rng.uniform(np.log(2), np.log(50.5)))))}
        if variant == "tiers":
            sched |= {"values": (magnitude, 3 * magnitude), "probabilities": (0.7, 0.3)}
        elif variant == "session_reset":
            sched |= {"session_reset": True}
    elif kind == "variable_ratio":
        ratio = float(np.exp(rng.uniform(np.log(2.0), np.log(50.0))))
        sched |= {"ratio": ratio, "log_nothing": rng.choice([0.0, 1.0])}
        if variant == "slot":
            sched |= {
                "cost": 1.0,
                "values": (2.0, 5.0, 20.0),
                "probabilities": (0.6, 0.3, 0.1),
                "consolation": rng.choice([0.0, 0.3]),
                "reward_scale": 5.0,
            }
        elif variant == "lottery":
            prize = magnitude * ratio * rng.uniform(3.0, 10.0)
            sched |= {
                "consolation": magnitude,
                "values": (prize, 3 * prize),
                "probabilities": (0.8, 0.2),
                "reward_scale": magnitude,
            }
        elif variant == "personalised":
            sched |= {"ratio_spread": rng.uniform(0.3, 1.0)}
        else:
            sched |= {"lognormal_sigma": rng.uniform(0.0, 1.0)}
    elif kind == "pity":
        cap = int(np.exp(rng.uniform(np.log(10), np.log(90.5))))
        early = rng.uniform(0.2, 0.8)  # share of runs that end before the cap region
        soft = max(cap // 2, cap - int(rng.integers(5, 17))) if variant == "soft" else 0
        horizon = soft if soft else cap
        base = 1.0 - (1.0 - early) ** (1.0 / max(horizon - 1, 1))
        step = (1.0 - base) / (cap - soft + 1) if soft else 0.0
        sched |= {
            "pity_base": base,
            "pity_soft_start": soft,
            "pity_soft_step": step,
            "pity_cap": cap,
            "lognormal_sigma": rng.uniform(0.0, 1.0),
        }
    elif kind == "fixed_interval":
        if variant == "calendar":
            interval = DAY_S
            sched |= {"calendar": True, "streak_loss": rng.choice([0.0, magnitude])}
        sched |= {"interval_s": interval}
    elif kind == "variable_interval":
        sched |= {"interval_s": interval, "poisson": variant == "poisson"}
    elif kind == "extinction" and variant == "logged":
        sched |= {"log_nothing": 1.0, "cost": 1.0}
    n_users = int(np.exp(rng.uniform(np.log(users[0]), np.log(users[1] + 0.5))))
    pop: dict[str, Any] = {
        "n_users": n_users,
        "responses": responses,
        "one_off_share": rng.uniform(0.0, 0.3),
        "alpha": (0.05, 0.8),
        "b0": (0.5, 3.0),
        "b_v": (-1.0, 1.0),
        "b_delta": (-1.0, 1.0),
        "loss_chaser_share": 0.2,
        "tempo_s": float(np.exp(rng.uniform(0.0, np.log(60.0)))),
        "gap_s": float(np.exp(rng.uniform(np.log(3600.0), np.log(2 * DAY_S)))),
        "utc_offsets_h": (-8.0, -5.0, 0.0, 1.0, 9.0),
        "night_owl_share": 0.1,
    }
    if kind in ("fixed_interval", "variable_interval"):
        # users respond several times per interval, so the interval is observable
        per_response = sched["interval_s"] / rng.uniform(2.0, 10.0)
        if per_response < 0.6 * SESSION_GAP_S:
            pop |= {"tempo_s": per_response, "tempo_sigma": 0.3}
        else:
            pop |= {
                "b0": (-4.0, -2.0),
                "gap_s": max(per_response - 1.05 * SESSION_GAP_S, 60.0),
                "b_v": (0.0, 0.0),
                "b_delta": (0.0, 0.0),
                "loss_chaser_share": 0.0,
            }
    return MechanicSpec(name=name, schedule=ScheduleSpec(**sched), population=PopulationSpec(**pop))


def schedule_benchmark(
    n_mechanics: int,
    *,
    seed: int,
    users: tuple[int, int] = (20, 200),
    responses: tuple[float, float] = (3.0, 300.0),
) -> ProductSpec:
    """A product of `n_mechanics` mechanics covering every schedule kind and variant, each with
    its own users and randomly drawn parameters (the schedule-identification bar)."""
    rng = np.random.default_rng(seed)
    mechanics = tuple(
        benchmark_mechanic(
            f"m{i:04d}-{kind}-{variant}", kind, variant, rng, users=users, responses=responses
        )
        for i, (kind, variant) in enumerate(_variant_kind_order(n_mechanics))
    )
    return ProductSpec(mechanics=mechanics, shared_users=False)


def demo_spec(n_users: int = 100) -> ProductSpec:
    """A small product with three known mechanics, for demos and the service's tests.

    - "daily_reward": a daily login reward that resets at local midnight (fixed interval), with
      a streak loss (negative reward) when a day is missed;
    - "quests": every 5th quest pays 10 coins (fixed ratio), free, played by day by users whose
      sessions shorten as novelty wears off (habituation), with no loss chasing;
    - "slots": a paid slot machine (cost 1 per spin, spend varying 3× between users): one spin
      in 9 wins 2, 5, 20 or 100 (a variable ratio), nothing logged as a 0 reward, 30 % loss
      chasers and 20 % night owls.

    An audit must call slots `variable_ratio` with a `variable-ratio-reward` finding,
    daily_reward `fixed_interval`, and raise nothing above `info` on quests.
    """
    zones = (-5.0, 0.0, 1.0, 9.0)
    return ProductSpec(
        mechanics=(
            MechanicSpec(
                name="daily_reward",
                schedule=ScheduleSpec(
                    kind="fixed_interval",
                    interval_s=DAY_S,
                    calendar=True,
                    values=(50.0,),
                    streak_loss=20.0,
                    reward_scale=50.0,
                ),
                population=PopulationSpec(
                    n_users=n_users,
                    responses=(10.0, 60.0),
                    b0=(-3.0, -2.0),
                    gap_s=8 * 3600.0,
                    utc_offsets_h=zones,
                    start_spread_s=3 * DAY_S,
                ),
            ),
            MechanicSpec(
                name="quests",
                schedule=ScheduleSpec(
                    kind="fixed_ratio", ratio=5.0, values=(10.0,), reward_scale=10.0
                ),
                population=PopulationSpec(
                    n_users=n_users,
                    responses=(40.0, 200.0),
                    b0=(2.5, 3.5),
                    session_trend=-0.15,
                    tempo_s=20.0,
                    gap_s=12 * 3600.0,
                    utc_offsets_h=zones,
                    start_spread_s=3 * DAY_S,
                ),
            ),
            MechanicSpec(
                name="slots",
                schedule=ScheduleSpec(
                    kind="variable_ratio",
                    ratio=9.0,
                    cost=1.0,
                    values=(2.0, 5.0, 20.0, 100.0),
                    probabilities=(0.55, 0.3, 0.12, 0.03),
                    log_nothing=1.0,
                    reward_scale=8.0,
                ),
                population=PopulationSpec(
                    n_users=max(1, (n_users * 4) // 5),
                    responses=(20.0, 300.0),
                    b0=(1.0, 3.0),
                    b_v=(-0.5, 0.5),
                    b_delta=(0.0, 1.0),
                    loss_chaser_share=0.3,
                    tempo_s=4.0,
                    gap_s=10 * 3600.0,
                    night_owl_share=0.2,
                    utc_offsets_h=zones,
                    spend_sigma=1.0,
                    start_spread_s=3 * DAY_S,
                ),
            ),
        ),
        shared_users=True,
    )


def simulate_demo(seed: int = 0, n_users: int = 100) -> SimulatedProduct:
    """The demo product (`demo_spec`) simulated with `seed`."""
    return simulate_product(demo_spec(n_users), seed)


def demo_native_events(seed: int = 0, n_users: int = 100) -> list[dict[str, Any]]:
    """The demo product's events as native JSON objects, ready to post."""
    return simulate_demo(seed, n_users).native_events(id_prefix=f"demo{seed}")


def rule_scenarios(n_users: int = 80) -> ProductSpec:
    """One mechanic per decision-table rule, named by the rule id, plus a neutral "control".

    Each scenario is built to trigger its rule; the control — a free fixed-ratio mechanic
    played by day by habituating users without loss chasing — must trigger none.
    """
    day_users: dict[str, Any] = {
        "utc_offsets_h": (-5.0, 0.0, 1.0, 9.0),
        "start_spread_s": 3 * DAY_S,
    }

    def pop(**kw: Any) -> PopulationSpec:
        return PopulationSpec(n_users=n_users, **(day_users | kw))

    scenarios = {
        "anhedonia-signature": (
            ScheduleSpec(kind="continuous", values=(10.0,), decay=1 / 60, reward_scale=10.0),
            pop(responses=(80.0, 200.0), b0=(1.5, 2.5), b_v=(1.5, 3.0), tempo_s=10.0),
        ),
        "control": (
            ScheduleSpec(kind="fixed_ratio", ratio=5.0, values=(10.0,), reward_scale=10.0),
            pop(responses=(40.0, 200.0), b0=(2.5, 3.5), session_trend=-0.15, tempo_s=20.0),
        ),
        "exploration-stuck": (
            # users settle on the only rewarding loop, which then dries up
            ScheduleSpec(
                kind="variable_ratio",
                option_probabilities=(0.9, 0.05),
                option_decay=(0.01, 0.0),
                option_names=("habit", "other"),
            ),
            pop(responses=(80.0, 200.0), b0=(-1.0, 0.5), b_v=(2.0, 4.0), beta=(10.0, 20.0)),
        ),
        "loss-chasing": (
            # a paid slot (stake 1, wins pay 3): chasers double the stake after a loss
            ScheduleSpec(kind="variable_ratio", ratio=3.0, values=(3.0,), cost=1.0),
            pop(
                responses=(200.0, 400.0),
                loss_chaser_share=0.6,
                loss_chaser_stake=2.0,
                b_delta=(0.0, 0.5),
                tempo_s=5.0,
            ),
        ),
        "losses-disguised-as-wins": (
            # a paid slot whose non-winning spins mostly return part of the stake
            ScheduleSpec(
                kind="variable_ratio", ratio=5.0, values=(5.0,), cost=1.0, consolation=0.4
            ),
            pop(responses=(50.0, 200.0), tempo_s=5.0),
        ),
        "night-engagement": (
            ScheduleSpec(kind="fixed_ratio", ratio=3.0, values=(5.0,), reward_scale=5.0),
            pop(responses=(30.0, 150.0), night_owl_share=0.6, tempo_s=10.0),
        ),
        "playing-by-appointment": (
            ScheduleSpec(
                kind="fixed_interval",
                interval_s=DAY_S,
                calendar=True,
                values=(50.0,),
                streak_loss=20.0,
                reward_scale=50.0,
            ),
            pop(responses=(10.0, 60.0), b0=(-3.0, -2.0), gap_s=8 * 3600.0),
        ),
        "predictable-unpredictable-mix": (
            ScheduleSpec(
                kind="continuous",
                values=(10.0,),
                bonus_value=40.0,
                bonus_probability=0.08,
                reward_scale=10.0,
            ),
            pop(responses=(30.0, 200.0)),
        ),
        "rpe-maximization": (
            ScheduleSpec(kind="variable_ratio", ratio=2.0, values=(1.0,)),
            pop(responses=(50.0, 300.0)),
        ),
        "session-escalation": (
            ScheduleSpec(kind="fixed_ratio", ratio=3.0, values=(5.0,), reward_scale=5.0),
            pop(responses=(100.0, 300.0), b0=(0.0, 1.0), session_trend=0.25, gap_trend=-0.1),
        ),
        "spend-concentration": (
            ScheduleSpec(kind="continuous", values=(1.0,), cost=1.0),
            pop(responses=(20.0, 200.0), spend_sigma=2.0),
        ),
        "variable-ratio-reward": (
            ScheduleSpec(
                kind="variable_ratio",
                ratio=6.0,
                cost=1.0,
                values=(2.0, 5.0, 20.0),
                probabilities=(0.6, 0.3, 0.1),
                reward_scale=5.0,
            ),
            pop(responses=(30.0, 200.0)),
        ),
    }
    return ProductSpec(
        mechanics=tuple(
            MechanicSpec(name=name, schedule=sched, population=popn)
            for name, (sched, popn) in sorted(scenarios.items())
        ),
        shared_users=False,
    )


def bulk_events(n_users: int, n_events: int, *, seed: int) -> EventColumns:
    """A large event log generated without simulating learning (for scale tests only).

    Three mechanics share the users: "daily" (fixed interval, one day), "quests" (fixed ratio 5)
    and "slots" (variable ratio 1:8, cost 1). Response counts are heavy-tailed (many users
    respond a handful of times, a few thousands of times); responses come in sessions of
    seconds-apart responses separated by hours. About `n_events` events in all.
    """
    rng = np.random.default_rng(seed)
    n_resp = int(n_events / 1.1)  # about one response in ten also logs a reward
    weights = rng.pareto(1.5, 3 * n_users) + 0.2
    counts = rng.multinomial(n_resp, weights / weights.sum())
    track_user = np.repeat(np.arange(n_users, dtype=np.int64), 3)
    track_mech = np.tile(np.arange(3, dtype=np.int32), n_users)
    keep = counts > 0
    counts, track_user, track_mech = counts[keep], track_user[keep], track_mech[keep]
    seg_track = np.repeat(np.arange(counts.shape[0]), counts)
    first = np.zeros(seg_track.shape[0], dtype=bool)
    first[np.concatenate([[0], np.cumsum(counts)[:-1]])] = True
    new_session = first | (rng.random(seg_track.shape[0]) < 0.1)
    irt = np.where(
        new_session,
        rng.exponential(8 * 3600.0, seg_track.shape[0]) + 1900.0,
        rng.exponential(5.0, seg_track.shape[0]) + 0.5,
    )
    irt[first] = rng.uniform(0, 7 * DAY_S, int(first.sum()))
    t_cum = np.cumsum(irt)
    start_cum = np.repeat(t_cum[first] - irt[first], counts)
    t = EPOCH_2026_05_01 + np.round(t_cum - start_cum, 3)
    position = np.arange(seg_track.shape[0]) - np.repeat(np.flatnonzero(first), counts)
    mech = track_mech[seg_track]
    user = track_user[seg_track]
    day = np.floor(t / DAY_S)
    prev_day = np.where(first, -1.0, np.roll(day, 1))
    win = np.where(
        mech == 0,
        day > prev_day,
        np.where(mech == 1, (position + 1) % 5 == 0, rng.random(t.shape[0]) < 1 / 8),
    )
    value = np.where(
        mech == 2, rng.choice([2.0, 5.0, 20.0], t.shape[0]), np.where(mech == 1, 10.0, 50.0)
    )
    cost = np.where(mech == 2, 1.0, 0.0)
    n_r, n_w = t.shape[0], int(win.sum())
    kind = np.concatenate(
        [np.full(n_r, RESPONSE, dtype=np.int8), np.full(n_w, REWARD, dtype=np.int8)]
    )
    width = len(str(n_users))
    return EventColumns(
        user=np.concatenate([user, user[win]]),
        mechanic=np.concatenate([mech, mech[win]]),
        kind=kind,
        t=np.concatenate([t, t[win]]),
        value=np.concatenate([np.zeros(n_r), value[win]]),
        cost=np.concatenate([cost, np.zeros(n_w)]),
        option=np.full(n_r + n_w, NO_OPTION, dtype=np.int32),
        session=np.full(n_r + n_w, NO_SESSION, dtype=np.int64),
        utc_offset_s=np.full(n_r + n_w, OFFSET_UNKNOWN, dtype=np.int32),
        delay_s=np.full(n_r + n_w, np.nan),
        user_ids=tuple(f"u{j:0{width}d}" for j in range(n_users)),
        mechanics=("daily", "quests", "slots"),
        options=(),
    )
