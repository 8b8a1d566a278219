"""Ready-made products: the demo, one scenario per rule of the decision table, and a bulk log
for scale tests."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.columns import NO_OPTION, NO_SESSION, OFFSET_UNKNOWN, RESPONSE, REWARD, EventColumns
from models.synthetic.simulation import simulate_product
from models.synthetic.specs import (
    DAY_S,
    EPOCH_2026_05_01,
    MechanicSpec,
    PopulationSpec,
    ProductSpec,
    ScheduleSpec,
    SimulatedProduct,
)


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
