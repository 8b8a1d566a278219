"""The tracks of a simulated product and what each brings to it: who the user is (learning
rate, engagement coefficients, tempo, habits, clock, spend) and the mechanic's schedule
parameters, drawn or gathered once per track before the first response."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.synthetic.specs import DAY_S, ProductSpec


def _uniform(rng: np.random.Generator, bounds: tuple[float, float], n: int) -> NDArray[np.float64]:
    return rng.uniform(bounds[0], bounds[1], n) if bounds[1] > bounds[0] else np.full(n, bounds[0])


def _log_uniform(
    rng: np.random.Generator, bounds: tuple[float, float], n: int
) -> NDArray[np.float64]:
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    return np.exp(rng.uniform(lo, hi, n)) if hi > lo else np.full(n, bounds[0])


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


def waking_hours(
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


@dataclass(frozen=True, slots=True)
class Tracks:
    """One track per (user, mechanic) pair: its mechanic, its person (the same person on every
    mechanic when users are shared) and the user's code among the sorted user ids."""

    mech: NDArray[np.int64]
    user_key: NDArray[np.int64]
    n_people: int
    user_code: NDArray[np.int64]
    user_ids: tuple[str, ...]


def tracks(spec: ProductSpec) -> Tracks:
    """The tracks of the product, mechanic by mechanic, and the ids of their users."""
    mechs = spec.mechanics
    names = tuple(m.name for m in mechs)
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
    return Tracks(
        mech=mech,
        user_key=user_key,
        n_people=n_people,
        user_code=inverse.astype(np.int64),
        user_ids=tuple(str(u) for u in uniq),
    )


@dataclass(frozen=True, slots=True)
class Users:
    """Each track's user: learning rate, engagement coefficients (loss chasers' b_δ and stake
    raise included), softmax β, discount rate, responses aimed at, tempo and session habits,
    local clock, night-owlishness, spend multiplier and the time of the first response."""

    alpha: NDArray[np.float64]
    b0: NDArray[np.float64]
    b_v: NDArray[np.float64]
    b_delta: NDArray[np.float64]
    chase_stake: NDArray[np.float64]
    beta: NDArray[np.float64]
    disc_k: NDArray[np.float64]
    target: NDArray[np.int64]
    tempo: NDArray[np.float64]
    tempo_sigma: NDArray[np.float64]
    gap_med: NDArray[np.float64]
    session_trend: NDArray[np.float64]
    gap_trend: NDArray[np.float64]
    exact: NDArray[np.bool_]
    wait_noise: NDArray[np.float64]
    offset: NDArray[np.float64]
    owl: NDArray[np.bool_]
    spend_mult: NDArray[np.float64]
    first_response: NDArray[np.float64]


def users(spec: ProductSpec, tr: Tracks, rng: np.random.Generator) -> Users:
    """Draw every track's user from its mechanic's population (per-person attributes shared
    across a person's tracks when users are shared)."""
    mech, user_key, n_people = tr.mech, tr.user_key, tr.n_people
    person_zone_draw = rng.random(n_people)
    person_owl_draw = rng.random(n_people)
    person_start_draw = rng.random(n_people)
    person_spend = rng.standard_normal(n_people)

    def per_track(values: list[NDArray[np.float64]]) -> NDArray[np.float64]:
        return np.concatenate(values)

    pops = [ms.population for ms in spec.mechanics]
    scheds = [ms.schedule for ms in spec.mechanics]

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
    return Users(
        alpha=alpha,
        b0=b0,
        b_v=b_v,
        b_delta=b_delta,
        chase_stake=chase_stake,
        beta=beta,
        disc_k=disc_k,
        target=target,
        tempo=tempo,
        tempo_sigma=tempo_sigma,
        gap_med=gap_med,
        session_trend=session_trend,
        gap_trend=gap_trend,
        exact=exact,
        wait_noise=wait_noise,
        offset=offset,
        owl=owl,
        spend_mult=spend_mult,
        first_response=spec.start + person_start_draw[user_key] * start_spread,
    )
