"""Seeded simulators of products with known reinforcement schedules and known users.

A product is a set of mechanics; each mechanic has a reinforcement schedule (Ferster & Skinner
1957) and a population of simulated users. Each (user, mechanic) pair is a *track*. Users learn
the mechanic's reward by Rescorla-Wagner with their own α and, after each response, continue
the session or stop by the engagement model (`models.engagement`),

    P(continue) = σ(b₀ + trend·session + b_V·Vₜ₊₁ + b_δ·δₜ),

or choose among options by softmax over learned values (hBayesDM `bandit2arm_delta`), or, for
wait-or-pay offers, by hyperbolic discounting V = A / (1 + k·delay) (Mazur 1987). Users differ in
response tempo, session habits, time zone and night-owlishness. The output is the event log in
the native format (`service/ingestion/events.py`) plus the ground truth, so every figure the models
produce can be tested against a known answer (Wilson & Collins 2019, rule 3: simulate, simulate,
simulate).

Simulation steps through response positions, vectorised across all tracks at once; the models'
hot paths never call this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.columns import NO_OPTION, NO_SESSION, RESPONSE, REWARD, EventColumns
from models.synthetic.mechanics import Mechanics, mechanics
from models.synthetic.population import Tracks, Users, tracks, users, waking_hours
from models.synthetic.specs import (
    _CRF,
    _FI,
    _FR,
    _PITY,
    _VI,
    _VR,
    DAY_S,
    SESSION_GAP_S,
    ProductSpec,
    SimulatedProduct,
    TrackTruth,
)


def _expit(x: NDArray[np.float64]) -> NDArray[np.float64]:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass(slots=True)
class _State:
    """Where each track stands between responses."""

    t: NDArray[np.float64]  # the time of its next response
    n_done: NDArray[np.int64]
    session: NDArray[np.int64]
    v: NDArray[np.float64]
    q: NDArray[np.float64]  # (n, options) learned option values
    since_win: NDArray[np.int64]
    last_win: NDArray[np.float64]
    last_resp: NDArray[np.float64]
    armed: NDArray[np.float64]  # a variable-interval reward is waiting from then on
    lost_last: NDArray[np.bool_]  # the previous response of the session lost money
    active: NDArray[np.bool_]


def _initial_state(u: Users, mx: Mechanics, rng: np.random.Generator) -> _State:
    n_tr = u.alpha.shape[0]
    return _State(
        t=waking_hours(u.first_response, u.offset, u.owl, rng),
        n_done=np.zeros(n_tr, dtype=np.int64),
        session=np.zeros(n_tr, dtype=np.int64),
        v=np.zeros(n_tr),
        q=np.zeros((n_tr, mx.n_opts)),
        since_win=np.zeros(n_tr, dtype=np.int64),
        last_win=np.full(n_tr, -np.inf),
        last_resp=np.full(n_tr, np.nan),
        armed=np.full(n_tr, -np.inf),
        lost_last=np.zeros(n_tr, dtype=bool),
        active=np.ones(n_tr, dtype=bool),
    )


class _Log:
    """The events emitted so far, in blocks of one kind."""

    def __init__(self) -> None:
        self.track: list[NDArray[np.int64]] = []
        self.kind: list[NDArray[np.int8]] = []
        self.t: list[NDArray[np.float64]] = []
        self.value: list[NDArray[np.float64]] = []
        self.cost: list[NDArray[np.float64]] = []
        self.option: list[NDArray[np.int64]] = []
        self.delay: list[NDArray[np.float64]] = []

    def emit(
        self,
        idx: NDArray[np.int64],
        kind: int,
        tt: NDArray[np.float64],
        value: NDArray[np.float64],
        cost: NDArray[np.float64],
        option: NDArray[np.int64],
        delay: NDArray[np.float64],
    ) -> None:
        self.track.append(idx)
        self.kind.append(np.full(idx.shape[0], kind, dtype=np.int8))
        self.t.append(tt)
        self.value.append(value)
        self.cost.append(cost)
        self.option.append(option)
        self.delay.append(delay)

    def rewards(
        self, idx: NDArray[np.int64], tt: NDArray[np.float64], value: NDArray[np.float64]
    ) -> None:
        """Reward events: no cost, no option, no delay."""
        k = int(idx.shape[0])
        self.emit(
            idx,
            REWARD,
            tt,
            value,
            np.zeros(k),
            np.full(k, NO_OPTION, dtype=np.int64),
            np.full(k, np.nan),
        )


@dataclass(frozen=True, slots=True)
class _Step:
    """The tracks that respond at this step (a: their rows) and what they carry into it."""

    a: NDArray[np.int64]
    ta: NDArray[np.float64]
    ka: NDArray[np.int64]
    ma: NDArray[np.int64]
    n_before: NDArray[np.float64]
    sw: NDArray[np.int64]
    u_draw: NDArray[np.float64]
    fade: NDArray[np.float64]


def _begin(mech: NDArray[np.int64], mx: Mechanics, s: _State, rng: np.random.Generator) -> _Step:
    a = np.flatnonzero(s.active)
    na = a.shape[0]
    ta = np.round(s.t[a], 3)
    s.t[a] = ta
    n_before = s.n_done[a].astype(np.float64)
    s.since_win[a] += 1
    return _Step(
        a=a,
        ta=ta,
        ka=mx.kind_code[a],
        ma=mech[a],
        n_before=n_before,
        sw=s.since_win[a],
        u_draw=rng.random(na),
        fade=np.exp(-mx.decay[a] * n_before),
    )


def _choose(
    u: Users, mx: Mechanics, s: _State, st: _Step, rng: np.random.Generator
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    """Choices among options, by softmax over learned values: (chosen option index, its code
    among the product's options, whether the track has options)."""
    a, ma = st.a, st.ma
    na = a.shape[0]
    chosen = np.zeros(na, dtype=np.int64)
    opt_out = np.full(na, NO_OPTION, dtype=np.int64)
    ho = mx.track_has_opts[a]
    if ho.any():
        logits = u.beta[a][ho, None] * s.q[a][ho] + np.where(
            np.isfinite(mx.opt_p[ma[ho]]), 0.0, -np.inf
        )
        logits -= logits.max(axis=1, keepdims=True)
        prob = np.exp(logits)
        prob /= prob.sum(axis=1, keepdims=True)
        c = (rng.random(int(ho.sum()))[:, None] > np.cumsum(prob, axis=1)).sum(axis=1)
        c = np.minimum(c, mx.n_opts - 1)
        chosen[ho] = c
        opt_out[ho] = mx.opt_code[ma[ho], c]
    return chosen, opt_out, ho


@dataclass(frozen=True, slots=True)
class _Wins:
    win: NDArray[np.bool_]
    count: NDArray[np.float64]  # rewards collected at once (Poisson variable intervals)
    vi: NDArray[np.bool_]
    day_now: NDArray[np.float64]
    day_last: NDArray[np.float64]


def _wins(
    u: Users,
    mx: Mechanics,
    s: _State,
    st: _Step,
    chosen: NDArray[np.int64],
    ho: NDArray[np.bool_],
    rng: np.random.Generator,
) -> _Wins:
    """Which responses the schedule pays."""
    a, ka, ma, ta, sw, u_draw, n_before = st.a, st.ka, st.ma, st.ta, st.sw, st.u_draw, st.n_before
    ratio, interval, calendar, poisson, offset = (
        mx.ratio,
        mx.interval,
        mx.calendar,
        mx.poisson,
        u.offset,
    )
    pity_base, pity_soft, pity_step, pity_cap = (
        mx.pity_base,
        mx.pity_soft,
        mx.pity_step,
        mx.pity_cap,
    )
    opt_p, opt_decay, last_win, last_resp = mx.opt_p, mx.opt_decay, s.last_win, s.last_resp
    armed = s.armed
    na = a.shape[0]
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
    return _Wins(win=win, count=count, vi=vi, day_now=day_now, day_last=day_last)


@dataclass(frozen=True, slots=True)
class _Payouts:
    gain: NDArray[np.float64]
    loss: NDArray[np.float64]  # a streak lost by missing a fixed interval
    raise_stake: NDArray[np.float64]


def _payouts(
    u: Users, mx: Mechanics, s: _State, st: _Step, w: _Wins, rng: np.random.Generator
) -> _Payouts:
    """The magnitudes the responses pay (wins, consolations, bonuses) and the streaks lost."""
    a, ka, ma, ta, fade = st.a, st.ka, st.ma, st.ta, st.fade
    win, count, day_now, day_last = w.win, w.count, w.day_now, w.day_last
    na = a.shape[0]
    tier_draw: NDArray[np.float64] = np.asarray(rng.random(na))
    tier = (tier_draw[:, None] > mx.tier_cum[ma]).sum(axis=1)
    tier = np.minimum(tier, mx.n_tiers - 1)
    sigma_mag = mx.sigma_mag
    noise = np.exp(sigma_mag[a] * rng.standard_normal(na) - 0.5 * sigma_mag[a] ** 2)
    # loss chasers raise the stake after a losing paid response of the same session, and a
    # bigger stake pays proportionally more
    base_cost = mx.base_cost
    raise_stake = np.where(s.lost_last[a] & (base_cost[a] > 0), u.chase_stake[a], 1.0)
    stake = np.where(base_cost[a] > 0, u.spend_mult[a], 1.0) * raise_stake
    magnitude = mx.tier_values[ma, tier] * noise * count * fade * stake
    gain = np.where(win, magnitude, mx.consolation[a] * fade * stake)
    gain += np.where(rng.random(na) < mx.bonus_p[a], mx.bonus_value[a] * fade, 0.0)
    last_win, calendar, interval = s.last_win, mx.calendar, mx.interval
    missed = (
        (ka == _FI)
        & win
        & np.isfinite(last_win[a])
        & np.where(calendar[a], day_now - day_last > 1, ta - last_win[a] > 2 * interval[a])
    )
    loss = np.where(missed, mx.streak_loss[a], 0.0)
    return _Payouts(gain=gain, loss=loss, raise_stake=raise_stake)


def _offers(
    u: Users,
    mx: Mechanics,
    st: _Step,
    p: _Payouts,
    opt_out: NDArray[np.int64],
    rng: np.random.Generator,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Wait-or-pay offers, by the hyperbolic value of waiting against paying now: (cost, delay);
    the choice is written into opt_out."""
    a = st.a
    na = a.shape[0]
    delay = np.full(na, np.nan)
    cost = mx.base_cost[a] * p.raise_stake
    wa = mx.wop[a]
    if wa.any():
        d = np.exp(rng.uniform(np.log(mx.delay_lo[a][wa]), np.log(mx.delay_hi[a][wa])))
        theta = mx.price_share[a][wa]
        utility = (1.0 - theta) - 1.0 / (1.0 + u.disc_k[a][wa] * d)
        pay = rng.random(int(wa.sum())) < _expit(u.wait_noise[a][wa] * utility)
        delay[wa] = d
        opt_out[wa] = np.where(pay, mx.pay_code, mx.wait_code)
        cost[wa] = np.where(pay, theta * p.gain[wa], 0.0)
    return cost, delay


def _record(
    log: _Log,
    mx: Mechanics,
    st: _Step,
    p: _Payouts,
    cost: NDArray[np.float64],
    opt_out: NDArray[np.int64],
    delay: NDArray[np.float64],
    rng: np.random.Generator,
) -> None:
    """The response, its gain, its lost streak, and (on some mechanics) a logged nothing."""
    a, ta, gain, loss = st.a, st.ta, p.gain, p.loss
    na = a.shape[0]
    log.emit(a, RESPONSE, ta, np.zeros(na), cost, opt_out, delay)
    has_gain = gain > 0.0
    if has_gain.any():
        log.rewards(a[has_gain], ta[has_gain], gain[has_gain])
    has_loss = loss > 0.0
    if has_loss.any():
        log.rewards(a[has_loss], ta[has_loss], -loss[has_loss])
    nothing = ~has_gain & ~has_loss & (rng.random(na) < mx.log_nothing[a])
    if nothing.any():
        log.rewards(a[nothing], ta[nothing], np.zeros(int(nothing.sum())))


def _learn(
    u: Users,
    mx: Mechanics,
    s: _State,
    st: _Step,
    r: NDArray[np.float64],
    chosen: NDArray[np.int64],
    ho: NDArray[np.bool_],
) -> NDArray[np.float64]:
    """Rescorla-Wagner on the outcome r (net of the stake, in reward units): the chosen option's
    value where the track has options, else the mechanic's; returns the prediction errors."""
    a, q, v, alpha = st.a, s.q, s.v, u.alpha
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
    return delta


def _continue_or_stop(
    u: Users,
    mx: Mechanics,
    s: _State,
    st: _Step,
    delta: NDArray[np.float64],
    net: NDArray[np.float64],
    rng: np.random.Generator,
) -> None:
    """Continue the session (the next response after the user's tempo), pause it (the next
    session after a gap, in the user's waking hours) or stop for good."""
    a, ta = st.a, st.ta
    na = a.shape[0]
    n_done, session, t = s.n_done, s.session, s.t
    logit = u.b0[a] + u.session_trend[a] * session[a] + u.b_v[a] * s.v[a] + u.b_delta[a] * delta
    cont = rng.random(na) < _expit(logit)
    reached = n_done[a] >= u.target[a]
    done = (reached & (u.exact[a] | ~cont)) | (n_done[a] >= 3 * u.target[a] + 50)
    cont &= ~done
    s.active[a[done]] = False
    s.lost_last[a] = cont & (net < 0.0)

    go_on = a[cont & ~done]
    if go_on.size:
        irt = u.tempo[go_on] * np.exp(u.tempo_sigma[go_on] * rng.standard_normal(go_on.size))
        t[go_on] = ta[cont & ~done] + np.clip(irt, 0.05, 0.9 * SESSION_GAP_S)
    pause = a[~cont & ~done]
    if pause.size:
        session[pause] += 1
        gap = u.gap_med[pause] * np.exp(
            u.gap_trend[pause] * session[pause] + 0.8 * rng.standard_normal(pause.size)
        )
        nxt = ta[~cont & ~done] + 1.05 * SESSION_GAP_S + gap
        t[pause] = waking_hours(nxt, u.offset[pause], u.owl[pause], rng)
        s.since_win[pause] = np.where(mx.session_reset[pause], 0, s.since_win[pause])


def _respond(
    mech: NDArray[np.int64], u: Users, mx: Mechanics, s: _State, log: _Log, rng: np.random.Generator
) -> None:
    """One response of every active track."""
    st = _begin(mech, mx, s, rng)
    chosen, opt_out, ho = _choose(u, mx, s, st, rng)
    w = _wins(u, mx, s, st, chosen, ho, rng)
    p = _payouts(u, mx, s, st, w, rng)
    cost, delay = _offers(u, mx, st, p, opt_out, rng)
    _record(log, mx, st, p, cost, opt_out, delay, rng)
    # schedule state
    a, ta, win = st.a, st.ta, w.win
    s.since_win[a] = np.where(win, 0, s.since_win[a])
    s.last_win[a] = np.where(win, ta, s.last_win[a])
    s.armed[a] = np.where(
        win & w.vi, ta + rng.exponential(1.0, a.shape[0]) * mx.interval[a], s.armed[a]
    )
    s.last_resp[a] = ta
    s.n_done[a] += 1
    # learning, on the outcome net of the stake
    net = p.gain - p.loss - cost
    delta = _learn(u, mx, s, st, net / mx.scale[a], chosen, ho)
    _continue_or_stop(u, mx, s, st, delta, net, rng)


def simulate_product(spec: ProductSpec, seed: int) -> SimulatedProduct:
    """Simulate every track of the product; returns the event log and the truth."""
    rng = np.random.default_rng(seed)
    names = tuple(m.name for m in spec.mechanics)
    if len(set(names)) != len(names) or list(names) != sorted(names):
        raise ValueError("mechanic names must be unique and given in sorted order")
    tr = tracks(spec)
    u = users(spec, tr, rng)
    mx = mechanics(spec, tr.mech, u.spend_mult, rng)
    s = _initial_state(u, mx, rng)
    log = _Log()
    while s.active.any():
        _respond(tr.mech, u, mx, s, log, rng)
    return _product(spec, names, tr, u, mx, s, log)


def _product(
    spec: ProductSpec,
    names: tuple[str, ...],
    tr: Tracks,
    u: Users,
    mx: Mechanics,
    s: _State,
    log: _Log,
) -> SimulatedProduct:
    mech, user_code = tr.mech, tr.user_code
    track = np.concatenate(log.track)
    option = np.concatenate(log.option).astype(np.int32)
    return SimulatedProduct(
        events=EventColumns(
            user=user_code[track],
            mechanic=mech[track].astype(np.int32),
            kind=np.concatenate(log.kind),
            t=np.concatenate(log.t),
            value=np.concatenate(log.value),
            cost=np.concatenate(log.cost),
            option=option,
            session=np.full(track.shape[0], NO_SESSION, dtype=np.int64),
            utc_offset_s=u.offset[track].astype(np.int32),
            delay_s=np.concatenate(log.delay),
            user_ids=tr.user_ids,
            mechanics=names,
            options=tuple(mx.option_names),
        ),
        spec=spec,
        tracks=TrackTruth(
            user=user_code,
            mechanic=mech.astype(np.int32),
            alpha=u.alpha,
            b0=u.b0,
            b_v=u.b_v,
            b_delta=u.b_delta,
            beta=np.where(mx.track_has_opts, u.beta, np.nan),
            discount_k=np.where(mx.wop, u.disc_k, np.nan),
            night_owl=u.owl,
            utc_offset_s=u.offset.astype(np.int32),
            responses=s.n_done,
        ),
    )
