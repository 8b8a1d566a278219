"""A second, independent product-log simulator, for validating the audit off its tuning data.

Each simulated product is a set of reward mechanics (slot machines, loot boxes, gacha, clickers,
daily rewards, timers, feeds) used by a population of people whose behaviour is drawn from the
kind of heterogeneity seen in real play logs rather than from the audit's own model. The ground
truth of every mechanic (its reinforcement schedule) and of every user (time zone, night play,
loss chasing, quitting while ahead, session escalation, spend) is returned next to the events.

Assumptions that deliberately differ from a textbook simulator:

- Tempo is bursty and heavy-tailed: inter-response times are a lognormal mixture of fast runs,
  hesitations and 5–45 minute breaks, and a break does not end the visit (the user comes back).
  Gaps between visits start at 2 minutes, so no fixed inactivity threshold separates sessions.
- Users live in three time zones per product and play inside a personal daily window in LOCAL
  time (08:00–23:30); only night players (positive controls) play mostly 00:00–05:30 local.
  The product may or may not send the zone offset; when it does not the log carries 0.
- Ordinary users stop when a length budget drawn at visit start runs out (or at bedtime),
  ignoring outcomes. Quitters-while-ahead stop after a win but never react to losses; loss
  chasers raise the stake, speed up and play on after losses. Only these two react to outcomes.
- Stakes vary between users (lognormal, snapped to a bet ladder) and, without reference to
  outcomes, between and within visits of the same user.
- Activity is censored: users join throughout the period, many churn after one day, and the
  share of a user's visits going to each mechanic follows a sparse personal preference, so many
  user-mechanic histories hold one or two responses and a few hold thousands.
- Fixed UTC offsets are used (no daylight-saving changes) and each user keeps one zone.

Event conventions are those of `models.columns.EventColumns`: kind 0 is a response (its cost is
the stake), kind 1 a reward belonging to the latest response of the same user and mechanic at or
before its time; a response that pays nothing emits no reward.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from models.columns import OFFSET_UNKNOWN, EventColumns
from validation.fieldsim.payouts import _Draws
from validation.fieldsim.players import _Log, _Mech, _mech, _Person, _Player
from validation.fieldsim.scenario import _HOUR, _LOG_LADDER, FieldProduct, FieldScenario, FieldUsers


def _count(share: float, n: int) -> int:
    return 0 if share <= 0 else min(n, max(1, round(share * n)))


def _people(scenario: FieldScenario, rng: np.random.Generator, mechs: list[_Mech]) -> list[_Person]:
    sc = scenario
    n = sc.n_users
    k = len(mechs)
    zones = np.asarray(sc.zones_h, dtype=np.float64)
    weights = (
        np.asarray(sc.zone_weights, dtype=np.float64)
        if sc.zone_weights is not None
        else rng.dirichlet(np.full(zones.shape[0], 3.0))
    )
    zone = rng.choice(zones.shape[0], size=n, p=weights / weights.sum())
    offset = np.rint(zones[zone] * _HOUR).astype(np.int64)

    def pick(count: int, pool: NDArray[np.int64]) -> set[int]:
        return {int(i) for i in rng.permutation(pool)[:count]}

    everyone = np.arange(n, dtype=np.int64)
    night = pick(_count(sc.night_share, n), everyone)
    behaviour = rng.permutation(everyone)
    n_chase = _count(sc.chaser_share, n)
    chasers = {int(i) for i in behaviour[:n_chase]}
    quitters = {int(i) for i in behaviour[n_chase : n_chase + _count(sc.quitter_share, n)]}
    escalating = pick(_count(sc.escalating_share, n), everyone)
    whales = pick(sc.n_whales, everyone)

    a = 8 * _HOUR + 1.0 + 3 * _HOUR * rng.random(n)
    b = 20.5 * _HOUR + 3 * _HOUR * rng.random(n)
    existing = rng.random(n) < 0.35
    join = np.where(existing, 0, rng.integers(0, sc.days, size=n))
    one_day = rng.random(n) < 0.3
    hazard = rng.uniform(0.02, 0.25, size=n)
    life = np.where(one_day, 1, rng.geometric(hazard))
    p_active = rng.beta(2.0, 2.0, size=n)
    lam = rng.gamma(2.0, 0.5, size=n)
    activity = np.exp(0.6 * rng.standard_normal(n)) * sc.activity
    tempo = np.exp(0.35 * rng.standard_normal(n))
    growth = rng.uniform(2.0, 3.0, size=n)
    early = rng.integers(0, max(1, int(0.15 * sc.days)), size=n)
    devoted = rng.uniform(0.6, 0.95, size=n)

    primaries = _primaries(sc)
    prefs = rng.dirichlet(np.full(len(primaries), 0.8), size=n)
    uses = rng.random((n, k))
    rate_noise = np.exp(0.6 * rng.standard_normal((n, k)))
    start_noise = rng.uniform(0.6, 1.0, size=(n, k))
    stake_z = rng.standard_normal((n, k))
    whale_mult = rng.uniform(8.0, 20.0, size=n)

    people: list[_Person] = []
    for i in range(n):
        # controls are regulars: a habit (or its absence) only shows in a long enough history
        special = i in escalating or i in whales or i in chasers
        regular = special or i in night or i in quitters
        j = int(early[i]) if regular else int(join[i])
        last = sc.days - 1 if regular else min(sc.days - 1, j + int(life[i]) - 1)
        rates: list[float] = []
        starts: list[float] = []
        stakes: list[int] = []
        for m, mech in enumerate(mechs):
            info = mech.design.info
            never = uses[i, m] < (0.1 if info.role == "claim" else 0.2)
            if info.role == "rapid" or never:
                rates.append(0.0)
                starts.append(0.0)
            else:
                rates.append(info.check_rate_h * float(rate_noise[i, m]))
                starts.append(info.check_at_start * float(start_noise[i, m]))
            if mech.design.variable_stake:
                stake = mech.design.price * math.exp(sc.stake_sigma * float(stake_z[i, m]))
                if i in whales:
                    stake *= float(whale_mult[i])
                stakes.append(int(np.argmin(np.abs(_LOG_LADDER - math.log(stake)))))
            else:
                stakes.append(-1)
        people.append(
            _Person(
                index=i,
                offset_s=int(offset[i]),
                night=i in night,
                chaser=i in chasers,
                quitter=i in quitters,
                escalating=i in escalating,
                whale=i in whales,
                window=(float(a[i]), float(b[i])),
                join=j,
                last=last,
                # a whale plays nearly every day, several times a day
                p_active=0.95 if i in whales else float(devoted[i] if special else p_active[i]),
                visits_lam=2.5 if i in whales else float(lam[i]),
                activity=1.5 if i in whales else float(activity[i]),
                tempo=float(tempo[i]),
                growth=float(growth[i]),
                prefs=[
                    # a whale's visits are mostly about the thing they pay for
                    float(x) * (20.0 if i in whales and sc.mechanics[m].paid else 1.0) + 1e-9
                    for m, x in zip(primaries, prefs[i], strict=True)
                ],
                check_rate=rates,
                check_start=starts,
                base_stake=stakes,
            )
        )
    return people


def _primaries(scenario: FieldScenario) -> list[int]:
    """Mechanics a visit can be about: the rapid ones, else the checks; never a daily claim,
    nor the paid mechanic of an equal-spend product (bought once, in the first visit)."""
    designs = scenario.mechanics
    skip = {i for i, d in enumerate(designs) if scenario.equal_spend and d.paid}
    rapid = [i for i, d in enumerate(designs) if d.info.role == "rapid" and i not in skip]
    if rapid:
        return rapid
    return [i for i, d in enumerate(designs) if d.info.role == "check" and i not in skip]


def simulate_field(scenario: FieldScenario, seed: int) -> FieldProduct:
    """Simulate one product; the same scenario and seed give identical output."""
    sc = scenario
    rng = np.random.default_rng(seed)
    mechs = [_mech(d) for d in sc.mechanics]
    people = _people(sc, rng, mechs)
    primaries = _primaries(sc)
    if not primaries:
        raise ValueError(f"{sc.name}: no mechanic for a visit to be about")
    forced = next((i for i, d in enumerate(sc.mechanics) if d.paid), -1) if sc.equal_spend else -1
    draws = _Draws(rng)
    log = _Log()
    for person in people:
        _Player(person, sc, mechs, primaries, forced, draws, log).run()
    return _assemble(sc, seed, people, rng, log)


def _assemble(
    sc: FieldScenario, seed: int, people: list[_Person], rng: np.random.Generator, log: _Log
) -> FieldProduct:
    n = sc.n_users
    user = np.asarray(log.user, dtype=np.int64)
    mech = np.asarray(log.mech, dtype=np.int64)
    # millisecond timestamps, as product logs carry; flooring keeps every response inside
    # the window it was drawn in
    t = np.floor(np.asarray(log.t, dtype=np.float64) * 1000.0) / 1000.0
    cost = np.asarray(log.cost, dtype=np.float64)
    value = np.asarray(log.value, dtype=np.float64)

    order = np.lexsort((t, mech, user))
    same_next = np.zeros(order.shape[0], dtype=np.bool_)
    same_next[:-1] = (user[order][1:] == user[order][:-1]) & (mech[order][1:] == mech[order][:-1])
    gap_next = np.full(order.shape[0], np.inf)
    gap_next[:-1] = np.diff(t[order])
    gap_next[~same_next] = np.inf
    gap = np.empty_like(gap_next)
    gap[order] = gap_next
    # rewards are written with the response or a moment later, but always before the next
    # response of the same mechanic, so that attribution stays unambiguous
    lag = np.minimum(rng.uniform(0.05, 0.8, size=t.shape[0]), 0.45 * gap)
    lag = np.where(rng.random(t.shape[0]) < 0.4, 0.0, np.floor(lag * 1000.0) / 1000.0)

    pays = value > 0
    n_resp = t.shape[0]
    n_rew = int(pays.sum())
    all_user = np.concatenate([user, user[pays]])
    all_mech = np.concatenate([mech, mech[pays]])
    all_kind = np.concatenate([np.zeros(n_resp, dtype=np.int8), np.ones(n_rew, dtype=np.int8)])
    all_t = np.concatenate([t, t[pays] + lag[pays]])
    all_value = np.concatenate([np.zeros(n_resp), value[pays]])
    all_cost = np.concatenate([cost, np.zeros(n_rew)])
    ev = np.lexsort((all_kind, all_t))

    user_ids = tuple(f"u{i:05d}" for i in range(n))
    offsets = np.asarray([p.offset_s for p in people], dtype=np.int32)
    names = np.asarray(user_ids, dtype=object)
    mech_names = np.asarray([d.name for d in sc.mechanics], dtype=object)
    sent = (
        offsets[all_user[ev]]
        if sc.zones_sent
        else np.full(ev.shape[0], OFFSET_UNKNOWN, dtype=np.int32)
    )
    columns = EventColumns.from_arrays(
        user_id=names[all_user[ev]],
        mechanic=mech_names[all_mech[ev]],
        kind=all_kind[ev],
        t=all_t[ev],
        value=all_value[ev],
        cost=all_cost[ev],
        utc_offset_s=sent.astype(np.int32),
    )
    users = FieldUsers(
        user_ids=user_ids,
        utc_offset_s=offsets,
        night_player=np.asarray([p.night for p in people], dtype=np.bool_),
        loss_chaser=np.asarray([p.chaser for p in people], dtype=np.bool_),
        quits_while_ahead=np.asarray([p.quitter for p in people], dtype=np.bool_),
        escalating=np.asarray([p.escalating for p in people], dtype=np.bool_),
        whale=np.asarray([p.whale for p in people], dtype=np.bool_),
        spend=np.bincount(user, weights=cost, minlength=n).astype(np.float64),
        responses=np.bincount(user, minlength=n).astype(np.int64),
    )
    return FieldProduct(columns=columns, mechanics=sc.truth, users=users, scenario=sc, seed=seed)
