"""The field simulator keeps its own promises: checked against the truth it returns."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
import pytest
from numpy.typing import NDArray

from models.columns import OFFSET_UNKNOWN, RESPONSE, REWARD, EventColumns
from validation.fieldsim import (
    SCHEDULE_KINDS,
    FieldProduct,
    FieldScenario,
    MechanicDesign,
    field_benchmark,
    null_products,
    simulate_field,
)

HOUR = 3600.0
DAY = 86400.0


@cache
def benchmark() -> tuple[FieldScenario, ...]:
    return field_benchmark(seed=0)


def scenario(prefix: str, index: int = 0) -> FieldScenario:
    return [s for s in benchmark() if s.name.startswith(prefix)][index]


@cache
def product(prefix: str, index: int = 0) -> FieldProduct:
    return simulate_field(scenario(prefix, index), seed=11 + index)


def paired(c: EventColumns) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Positions of the responses and the payout of each (0: no reward), attributing every
    reward to the latest response of the same user and mechanic at or before it."""
    order = np.lexsort((c.kind, c.t, c.mechanic, c.user))
    kind = c.kind[order]
    is_resp = kind == RESPONSE
    pos = np.where(is_resp, np.arange(order.shape[0]), -1)
    owner = np.maximum.accumulate(pos)
    rewards = np.flatnonzero(~is_resp)
    assert (owner[rewards] >= 0).all()
    own = owner[rewards]
    same = (c.user[order][own] == c.user[order][rewards]) & (
        c.mechanic[order][own] == c.mechanic[order][rewards]
    )
    assert same.all(), "a reward without an earlier response of its user and mechanic"
    assert np.unique(own).shape[0] == own.shape[0], "two rewards for one response"
    payout = np.zeros(order.shape[0])
    payout[own] = c.value[order][rewards]
    resp_pos = order[is_resp]
    return resp_pos, payout[is_resp]


def local_seconds(p: FieldProduct, idx: NDArray[np.intp]) -> NDArray[np.float64]:
    c = p.columns
    user_index = np.asarray([p.users.index(name) for name in c.user_ids])
    offset = p.users.utc_offset_s[user_index[c.user[idx]]].astype(np.float64)
    return np.asarray((c.t[idx] + offset) % DAY, dtype=np.float64)


def truth_of(p: FieldProduct, field: str) -> NDArray[np.bool_]:
    """A per-user truth array indexed by the columns' user codes."""
    user_index = np.asarray([p.users.index(name) for name in p.columns.user_ids])
    return np.asarray(getattr(p.users, field)[user_index], dtype=np.bool_)


SMALL = FieldScenario(
    name="small",
    mechanics=(
        MechanicDesign(name="spin", archetype="slot", price=1.0, p=0.2),
        MechanicDesign(name="gift", archetype="daily_local", amount=5.0),
        MechanicDesign(name="feed", archetype="extinction"),
    ),
    n_users=40,
    days=8,
    night_share=0.1,
    chaser_share=0.1,
    quitter_share=0.1,
)


def test_same_seed_same_output_and_another_seed_differs() -> None:
    a, b, other = simulate_field(SMALL, 5), simulate_field(SMALL, 5), simulate_field(SMALL, 6)
    for name in ("user", "mechanic", "kind", "t", "value", "cost", "utc_offset_s"):
        assert np.array_equal(getattr(a.columns, name), getattr(b.columns, name)), name
    assert a.columns.user_ids == b.columns.user_ids
    assert np.array_equal(a.users.spend, b.users.spend)
    assert len(a.columns) != len(other.columns) or not np.array_equal(a.columns.t, other.columns.t)


def test_event_conventions() -> None:
    p = product("arcade_mix")
    c = p.columns
    assert set(np.unique(c.kind).tolist()) == {RESPONSE, REWARD}
    assert (c.value[c.kind == REWARD] > 0).all(), "a response paying nothing emits no reward"
    assert (c.value[c.kind == RESPONSE] == 0).all()
    assert (c.cost[c.kind == REWARD] == 0).all()
    assert (np.diff(c.t) >= 0).all()
    resp_pos, _ = paired(c)  # every reward has its own response
    assert resp_pos.shape[0] == int((c.kind == RESPONSE).sum())
    paid = {m.name for m in p.mechanics if m.paid}
    is_paid = np.isin(np.asarray(c.mechanics, dtype=object)[c.mechanic], list(paid))
    responses = c.kind == RESPONSE
    assert (c.cost[responses & is_paid] > 0).all()
    assert (c.cost[responses & ~is_paid] == 0).all()
    assert np.allclose(
        np.bincount(c.user, weights=c.cost, minlength=len(c.user_ids)), p.users.spend
    )


@pytest.mark.parametrize("prefix", ["casino_ldw_night", "feed_night"])
def test_day_players_respond_inside_their_local_window(prefix: str) -> None:
    p = product(prefix)
    c = p.columns
    night = truth_of(p, "night_player")
    day_resp = np.flatnonzero((c.kind == RESPONSE) & ~night[c.user])
    local = local_seconds(p, day_resp)
    assert local.min() >= 8 * HOUR
    assert local.max() < 23.5 * HOUR


@pytest.mark.parametrize("prefix", ["casino_ldw_night", "feed_night"])
def test_night_players_mostly_play_at_night(prefix: str) -> None:
    p = product(prefix)
    c = p.columns
    night = truth_of(p, "night_player")
    assert night.any()
    resp = np.flatnonzero((c.kind == RESPONSE) & night[c.user])
    at_night = local_seconds(p, resp) < 6 * HOUR
    assert at_night.mean() > 0.7
    users = c.user[resp]
    shares = [at_night[users == user].mean() for user in np.unique(users)]
    assert np.mean(np.asarray(shares) > 0.5) >= 0.75


@pytest.mark.parametrize("sent", [True, False])
def test_zone_column_is_the_true_offset_or_zero(sent: bool) -> None:
    p = simulate_field(replace(SMALL, zones_h=(-5.0, 5.5, 9.0), zones_sent=sent), seed=3)
    c = p.columns
    user_index = np.asarray([p.users.index(name) for name in c.user_ids])
    truth = p.users.utc_offset_s[user_index[c.user]]
    if sent:
        assert np.array_equal(c.utc_offset_s, truth)
    else:
        assert (c.utc_offset_s == OFFSET_UNKNOWN).all()
    assert set(np.unique(p.users.utc_offset_s).tolist()) <= {-5 * 3600, 19800, 9 * 3600}


def test_paid_loot_box_common_item_is_worth_its_price() -> None:
    p = product("lootbox_shop_whales")
    c = p.columns
    box = c.mechanics.index("crate")
    resp_pos, payout = paired(c)
    on_box = c.mechanic[resp_pos] == box
    cost = c.cost[resp_pos][on_box]
    pay = payout[on_box]
    assert (pay > 0).all(), "every open yields an item"
    ratio = pay / cost
    assert set(np.unique(np.round(ratio, 2)).tolist()) <= {1.0, 3.0, 100.0}
    common = pay[np.isclose(ratio, 1.0)]
    assert np.array_equal(common, cost[np.isclose(ratio, 1.0)])
    assert 0.8 < common.shape[0] / pay.shape[0] < 0.995


def test_free_loot_box_costs_nothing_and_always_gives() -> None:
    p = product("lootbox_shop_whales")
    c = p.columns
    resp_pos, payout = paired(c)
    free = c.mechanic[resp_pos] == c.mechanics.index("daily_crate")
    assert (c.cost[resp_pos][free] == 0).all()
    assert (payout[free] > 0).all()


@pytest.mark.parametrize("prefix", ["casino_chasers", "casino_ldw_night", "feed_night"])
def test_daily_reward_pays_once_per_local_day(prefix: str) -> None:
    p = product(prefix)
    c = p.columns
    daily = [m.name for m in p.mechanics if m.calendar_reset]
    assert len(daily) == 1
    resp_pos, payout = paired(c)
    on_daily = c.mechanic[resp_pos] == c.mechanics.index(daily[0])
    pos = resp_pos[on_daily]
    user_index = np.asarray([p.users.index(name) for name in c.user_ids])
    offset = p.users.utc_offset_s[user_index[c.user[pos]]]
    local_day = np.floor((c.t[pos] + offset) / DAY).astype(np.int64)
    key = c.user[pos] * 100_000 + local_day
    claims_per_day = np.unique(key).shape[0]
    paid_keys = key[payout[on_daily] > 0]
    # at most once per local calendar day, and the first claim of each day pays
    assert np.unique(paid_keys).shape[0] == paid_keys.shape[0]
    assert paid_keys.shape[0] == claims_per_day
    assert c.t[pos].shape[0] > claims_per_day, "users claim more than once on some days"


def test_fixed_ratio_pays_exactly_every_nth_response() -> None:
    sc = scenario("clicker_escalation")
    p = product("clicker_escalation")
    c = p.columns
    design = next(m for m in sc.mechanics if m.archetype == "fixed_ratio")
    resp_pos, payout = paired(c)
    on = c.mechanic[resp_pos] == c.mechanics.index(design.name)
    users = c.user[resp_pos][on]
    pay = payout[on]
    assert pay.sum() > 0
    for user in np.unique(users):
        mine = pay[users == user]  # paired() keeps each user's responses in time order
        expected = (np.arange(1, mine.shape[0] + 1) % design.ratio) == 0
        assert np.array_equal(mine > 0, expected)
        assert (mine[mine > 0] == design.amount).all()


def test_pity_never_lets_a_streak_pass_the_guarantee() -> None:
    sc = scenario("gacha_whales")
    p = product("gacha_whales")
    c = p.columns
    design = sc.mechanics[0]
    resp_pos, payout = paired(c)
    on = c.mechanic[resp_pos] == c.mechanics.index(design.name)
    users, pay = c.user[resp_pos][on], payout[on]
    longest = 0
    for user in np.unique(users):
        hits = np.flatnonzero(pay[users == user] > 0)
        if hits.shape[0]:
            longest = max(longest, int(np.diff(np.concatenate([[-1], hits])).max()))
    assert 0 < longest <= design.ratio


def test_healthy_mix_pays_every_time_mostly_its_fixed_amount() -> None:
    sc = scenario("fitness_null")
    p = product("fitness_null")
    c = p.columns
    design = next(m for m in sc.mechanics if m.archetype == "healthy_mix")
    resp_pos, payout = paired(c)
    pay = payout[c.mechanic[resp_pos] == c.mechanics.index(design.name)]
    assert (pay >= design.amount).all()
    assert design.amount * pay.shape[0] / pay.sum() >= 0.8


def test_ldw_slot_pays_below_the_stake_often() -> None:
    p = product("casino_ldw_night")
    c = p.columns
    resp_pos, payout = paired(c)
    on = c.mechanic[resp_pos] == c.mechanics.index("reels")
    stake, pay = c.cost[resp_pos][on], payout[on]
    disguised = (pay > 0) & (pay < stake)
    assert 0.25 < disguised.mean() < 0.45
    assert p.mechanic("reels").ldw
    assert not p.mechanic("hourly_bonus").ldw


CASINO = FieldScenario(
    name="casino",
    mechanics=(
        MechanicDesign(name="spin", archetype="slot", price=1.0, p=0.3),
        MechanicDesign(name="gift", archetype="daily_local", amount=5.0),
    ),
    n_users=80,
    days=14,
    chaser_share=0.25,
    quitter_share=0.25,
)


@cache
def casino() -> FieldProduct:
    return simulate_field(CASINO, seed=4)


def stake_steps(
    p: FieldProduct, mechanic: str
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per spin followed by another of the same user: the user, the next stake, the log change
    of stake to the next spin, and the payout minus the stake (negative: a loss)."""
    c = p.columns
    resp_pos, payout = paired(c)
    on = c.mechanic[resp_pos] == c.mechanics.index(mechanic)
    users, stake, pay = c.user[resp_pos][on], c.cost[resp_pos][on], payout[on]
    same = users[1:] == users[:-1]
    step = np.log(stake[1:] / stake[:-1])
    return users[:-1][same], stake[1:][same], step[same], (pay - stake)[:-1][same]


def test_loss_chasers_raise_the_stake_after_a_loss() -> None:
    p = casino()
    users, nxt, _, net = stake_steps(p, "spin")
    chasers = np.flatnonzero(truth_of(p, "loss_chaser"))
    checked = 0
    for user in chasers:
        mine = users == user
        lost, won = mine & (net < 0), mine & (net > 0)
        if mine.sum() >= 200 and won.sum() >= 20:
            assert nxt[lost].mean() > nxt[won].mean()
            checked += 1
    assert checked >= 0.8 * chasers.shape[0]


def test_quitters_stake_ignores_the_last_outcome() -> None:
    p = casino()
    users, _, step, net = stake_steps(p, "spin")
    quitter = truth_of(p, "quits_while_ahead")[users]
    after_loss, after_win = step[quitter & (net < 0)], step[quitter & (net > 0)]
    assert after_win.shape[0] >= 200
    assert abs(after_loss.mean() - after_win.mean()) < 0.05
    chaser = truth_of(p, "loss_chaser")[users]
    assert step[chaser & (net < 0)].mean() - step[chaser & (net > 0)].mean() > 0.3


def test_quitters_stop_after_wins_more_than_others() -> None:
    p = casino()
    c = p.columns
    resp_pos, payout = paired(c)
    on = c.mechanic[resp_pos] == c.mechanics.index("spin")
    users, t = c.user[resp_pos][on], c.t[resp_pos][on]
    net = (payout - c.cost[resp_pos])[on]
    ends = np.append((users[1:] != users[:-1]) | (np.diff(t) > 2 * HOUR), True)
    quitter = truth_of(p, "quits_while_ahead")[users]
    ordinary = ~quitter & ~truth_of(p, "loss_chaser")[users]
    assert ends[quitter & (net > 0)].mean() > 3 * ends[ordinary & (net > 0)].mean()
    # and they do not play on after losses any longer than ordinary players
    assert ends[quitter & (net < 0)].mean() >= 0.5 * ends[ordinary & (net < 0)].mean()


def test_escalating_users_play_longer_later() -> None:
    p = product("clicker_escalation")
    c = p.columns
    esc = truth_of(p, "escalating")
    resp = c.kind == RESPONSE
    days = scenario("clicker_escalation").days
    day = np.floor((c.t - c.t.min()) / DAY).astype(np.int64)
    growth = []
    for user in np.unique(c.user[resp & esc[c.user]]):
        d = day[resp & (c.user == user)]
        per_day = np.bincount(d, minlength=days + 1)
        active = per_day > 0
        first, last = per_day[: days // 3], per_day[-(days // 3) :]
        if active[: days // 3].sum() >= 2 and active[-(days // 3) :].sum() >= 2:
            early = first[first > 0].mean()
            late = last[last > 0].mean()
            growth.append(late / early)
    assert len(growth) >= 5
    assert float(np.median(growth)) > 1.4


@pytest.mark.parametrize("index", [0, 1])
def test_equal_spenders_spend_the_same(index: int) -> None:
    sc = scenario("starter_pack_equal", index)
    p = product("starter_pack_equal", index)
    price = next(m.price for m in sc.mechanics if m.paid)
    assert p.equal_spenders
    assert np.unique(p.users.spend).shape[0] == 1
    assert p.users.spend[0] == pytest.approx(sc.equal_spend * price)


def test_whales_carry_the_revenue() -> None:
    p = product("lootbox_shop_whales")
    assert p.users.whale.sum() == max(1, round(0.01 * p.scenario.n_users))
    assert p.spend_top_share(0.01) >= 0.4
    assert p.spend_concentrated


def test_benchmark_covers_every_kind_and_every_kind_of_user() -> None:
    scenarios = benchmark()
    assert len(scenarios) == 24
    assert len({s.name for s in scenarios}) == 24
    kinds = set().union(*(s.kinds for s in scenarios))
    assert kinds == set(SCHEDULE_KINDS)
    archetypes = {m.archetype for s in scenarios for m in s.mechanics}
    assert len(archetypes) == 13
    for s in scenarios:
        assert 2 <= len(s.mechanics) <= 5
        assert 40 <= s.n_users <= 300
        assert 7 <= s.days <= 45
    assert any(s.night_share for s in scenarios)
    assert any(s.chaser_share for s in scenarios)
    assert any(s.quitter_share for s in scenarios)
    assert any(s.escalating_share for s in scenarios)
    assert any(s.n_whales for s in scenarios)
    assert any(s.equal_spend for s in scenarios)
    assert sum(s.no_effect for s in scenarios) >= 4
    daily_sent = {s.zones_sent for s in scenarios if any(m.calendar_reset for m in s.truth)}
    assert daily_sent == {True, False}
    truths = [m for s in scenarios for m in s.truth]
    assert any(m.lottery and m.paid for m in truths)
    assert any(m.lottery and not m.paid for m in truths)
    assert any(m.ldw for m in truths)
    # the first twelve already cover everything
    assert set().union(*(s.kinds for s in scenarios[:12])) == set(SCHEDULE_KINDS)


def test_null_products_have_no_effect_to_find() -> None:
    scenarios = null_products(seed=1, n_products=4)
    assert all(s.no_effect for s in scenarios)
    p = simulate_field(scenarios[-1], seed=2)
    assert p.no_effect
    assert p.nobody_at_night
    assert p.no_loss_chasers
    assert p.stationary
    assert not p.spend_concentrated


def test_invalid_designs_are_refused() -> None:
    with pytest.raises(ValueError, match="positive price"):
        MechanicDesign(name="x", archetype="slot")
    with pytest.raises(ValueError, match="free"):
        MechanicDesign(name="x", archetype="continuous", price=1.0)
    with pytest.raises(ValueError, match="equal spend"):
        replace(SMALL, equal_spend=5)
