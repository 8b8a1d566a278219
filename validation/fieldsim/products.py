"""The field benchmark: templates of products (casinos, gacha, loot-box shops, clickers, feeds,
fitness apps, …) with their users, drawn at a seed, and the products with no effect to find."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from validation.fieldsim.scenario import _EPOCH0, Archetype, FieldScenario, MechanicDesign

# One zone from each of three regions, so every product spans most of the clock.
_REGIONS: tuple[tuple[float, ...], ...] = (
    (-8.0, -7.0, -6.0, -5.0, -4.0, -3.0),
    (0.0, 1.0, 2.0, 3.0, 4.0),
    (5.5, 7.0, 8.0, 9.0, 9.5, 10.0),
)


def _zones(rng: np.random.Generator) -> tuple[float, ...]:
    return tuple(float(region[int(rng.integers(len(region)))]) for region in _REGIONS)


def _pick(rng: np.random.Generator, options: tuple[float, ...]) -> float:
    return float(options[int(rng.integers(len(options)))])


def _slot(rng: np.random.Generator, name: str, *, ldw: bool = False) -> MechanicDesign:
    price = _pick(rng, (0.2, 0.5, 1.0, 2.0))
    rtp = float(rng.uniform(0.88, 0.96))
    if ldw:
        p, p_small = float(rng.uniform(0.05, 0.12)), float(rng.uniform(0.30, 0.40))
        return MechanicDesign(
            name=name, archetype="slot_ldw", price=price, p=p, p_small=p_small, rtp=rtp
        )
    p = float(rng.uniform(0.05, 0.4))
    return MechanicDesign(name=name, archetype="slot", price=price, p=p, rtp=rtp)


def _lootbox(rng: np.random.Generator, name: str, *, paid: bool) -> MechanicDesign:
    tiers = ((0.01, 100.0), (0.1, 3.0)) if rng.random() < 0.6 else ((0.01, 100.0),)
    if paid:
        price = _pick(rng, (0.99, 1.99, 2.99, 4.99))
        return MechanicDesign(name=name, archetype="lootbox_paid", price=price, tiers=tiers)
    amount = _pick(rng, (5.0, 10.0, 50.0))
    return MechanicDesign(name=name, archetype="lootbox_free", amount=amount, tiers=tiers)


def _gacha(
    rng: np.random.Generator, name: str, *, soft: bool, paid: bool, consolation: float = 0.0
) -> MechanicDesign:
    pity = int(rng.integers(50, 91))
    return MechanicDesign(
        name=name,
        archetype="gacha_soft" if soft else "gacha_hard",
        price=_pick(rng, (1.0, 1.6, 2.5)) if paid else 0.0,
        amount=_pick(rng, (1.0, 10.0)),
        p=float(rng.uniform(0.006, 0.02)),
        ratio=pity,
        soft_from=pity - int(rng.integers(10, 20)) if soft else 0,
        soft_step=float(rng.uniform(0.04, 0.08)),
        rare_mult=float(rng.uniform(60.0, 120.0)),
        consolation=consolation,
    )


def _fixed_ratio(rng: np.random.Generator, name: str) -> MechanicDesign:
    return MechanicDesign(
        name=name,
        archetype="fixed_ratio",
        ratio=int(rng.integers(3, 21)),
        amount=_pick(rng, (1.0, 5.0, 25.0)),
    )


def _plain(name: str, archetype: Archetype, amount: float = 1.0) -> MechanicDesign:
    return MechanicDesign(name=name, archetype=archetype, amount=amount)


def _healthy(rng: np.random.Generator, name: str) -> MechanicDesign:
    return MechanicDesign(
        name=name,
        archetype="healthy_mix",
        amount=_pick(rng, (2.0, 10.0)),
        p=float(rng.uniform(0.08, 0.2)),
    )


def _fixed_interval(rng: np.random.Generator, name: str) -> MechanicDesign:
    return MechanicDesign(
        name=name,
        archetype="fixed_interval",
        amount=_pick(rng, (5.0, 20.0)),
        interval_s=float(np.exp(rng.uniform(np.log(600.0), np.log(21600.0)))),
    )


def _variable_interval(rng: np.random.Generator, name: str) -> MechanicDesign:
    return MechanicDesign(
        name=name,
        archetype="variable_interval",
        amount=1.0,
        interval_s=float(np.exp(rng.uniform(np.log(600.0), np.log(7200.0)))),
        interval_sigma=0.0 if rng.random() < 0.5 else 0.8,
    )


def _between(rng: np.random.Generator, bounds: tuple[int, int]) -> int:
    return int(rng.integers(bounds[0], bounds[1] + 1))


def _whales(n_users: int) -> int:
    # as many as the top 1 % of users, so that "the top 1 %" means the whales
    return max(1, round(0.01 * n_users))


def _casino_chasers(rng: np.random.Generator, tag: str, sent: bool) -> FieldScenario:
    return FieldScenario(
        name=f"casino_chasers{tag}",
        mechanics=(
            _slot(rng, "slots"),
            _plain("daily_bonus", "daily_local", 100.0),
            _lootbox(rng, "free_chest", paid=False),
        ),
        n_users=_between(rng, (100, 160)),
        days=_between(rng, (14, 28)),
        zones_h=_zones(rng),
        zones_sent=sent,
        chaser_share=0.1,
        quitter_share=0.12,
    )


def _casino_ldw_night(rng: np.random.Generator, tag: str, sent: bool) -> FieldScenario:
    return FieldScenario(
        name=f"casino_ldw_night{tag}",
        mechanics=(
            _slot(rng, "reels", ldw=True),
            _fixed_interval(rng, "hourly_bonus"),
            _plain("daily_spin", "daily_local", 50.0),
        ),
        n_users=_between(rng, (80, 140)),
        days=_between(rng, (10, 21)),
        zones_h=_zones(rng),
        zones_sent=not sent,
        night_share=0.1,
        chaser_share=0.1,
    )


def _gacha_whales(rng: np.random.Generator, tag: str, sent: bool) -> FieldScenario:
    n_users = _between(rng, (120, 220))
    return FieldScenario(
        name=f"gacha_whales{tag}",
        mechanics=(
            _gacha(rng, "banner", soft=False, paid=True),
            _plain("login_reward", "daily_local", 60.0),
            _plain("quests", "continuous", 10.0),
        ),
        n_users=n_users,
        days=_between(rng, (21, 40)),
        zones_h=_zones(rng),
        zones_sent=sent,
        escalating_share=0.15,
        n_whales=_whales(n_users),
    )


def _gacha_free_null(rng: np.random.Generator, tag: str, sent: bool) -> FieldScenario:
    return FieldScenario(
        name=f"gacha_free_null{tag}",
        mechanics=(
            _gacha(rng, "wish", soft=True, paid=False, consolation=0.1),
            _fixed_interval(rng, "energy_refill"),
            _plain("shop_refresh", "extinction"),
        ),
        n_users=_between(rng, (60, 150)),
        days=_between(rng, (7, 21)),
        zones_h=_zones(rng),
        zones_sent=not sent,
    )


def _starter_pack_equal(rng: np.random.Generator, tag: str, sent: bool) -> FieldScenario:
    return FieldScenario(
        name=f"starter_pack_equal{tag}",
        mechanics=(
            _lootbox(rng, "starter_pack", paid=True),
            _fixed_ratio(rng, "crafting"),
            _plain("daily_gift", "daily_local", 20.0),
        ),
        n_users=_between(rng, (40, 120)),
        days=_between(rng, (7, 21)),
        zones_h=_zones(rng),
        zones_sent=sent,
        equal_spend=int(rng.integers(5, 21)),
        quitter_share=0.1,
    )


def _lootbox_shop_whales(rng: np.random.Generator, tag: str, sent: bool) -> FieldScenario:
    n_users = _between(rng, (150, 300))
    return FieldScenario(
        name=f"lootbox_shop_whales{tag}",
        mechanics=(
            _lootbox(rng, "crate", paid=True),
            _lootbox(rng, "daily_crate", paid=False),
            _plain("matches", "continuous", 3.0),
            _plain("news_refresh", "extinction"),
        ),
        n_users=n_users,
        days=_between(rng, (14, 30)),
        zones_h=_zones(rng),
        zones_sent=not sent,
        quitter_share=0.1,
        n_whales=_whales(n_users),
    )


def _clicker_escalation(rng: np.random.Generator, tag: str, sent: bool) -> FieldScenario:
    return FieldScenario(
        name=f"clicker_escalation{tag}",
        mechanics=(
            _fixed_ratio(rng, "tap_reward"),
            _plain("collect", "continuous", 2.0),
            _healthy(rng, "harvest"),
        ),
        n_users=_between(rng, (50, 120)),
        days=_between(rng, (21, 45)),
        zones_h=_zones(rng),
        zones_sent=sent,
        escalating_share=0.3,
        activity=0.5,
    )


def _feed_night(rng: np.random.Generator, tag: str, sent: bool) -> FieldScenario:
    return FieldScenario(
        name=f"feed_night{tag}",
        mechanics=(
            _plain("pull_to_refresh", "extinction"),
            _variable_interval(rng, "notifications"),
            _plain("streak", "daily_local", 1.0),
        ),
        n_users=_between(rng, (100, 250)),
        days=_between(rng, (14, 30)),
        zones_h=_zones(rng),
        zones_sent=not sent,
        night_share=0.12,
        escalating_share=0.15,
    )


def _fitness_null(rng: np.random.Generator, tag: str, sent: bool) -> FieldScenario:
    return FieldScenario(
        name=f"fitness_null{tag}",
        mechanics=(
            _plain("log_workout", "continuous", 10.0),
            _healthy(rng, "steps"),
            _fixed_interval(rng, "hydration_timer"),
            _plain("daily_goal", "daily_local", 25.0),
        ),
        n_users=_between(rng, (60, 200)),
        days=_between(rng, (14, 45)),
        zones_h=_zones(rng),
        zones_sent=sent,
    )


def _casino_null(rng: np.random.Generator, tag: str, sent: bool) -> FieldScenario:
    return FieldScenario(
        name=f"casino_null{tag}",
        mechanics=(_slot(rng, "classic"), _slot(rng, "fruit", ldw=True)),
        n_users=_between(rng, (60, 140)),
        days=_between(rng, (7, 21)),
        zones_h=_zones(rng),
        zones_sent=sent,
        quitter_share=0.15,
        stake_sigma=0.3,
        activity=0.7,
    )


def _arcade_mix(rng: np.random.Generator, tag: str, sent: bool) -> FieldScenario:
    return FieldScenario(
        name=f"arcade_mix{tag}",
        mechanics=(
            _gacha(rng, "capsules", soft=True, paid=True, consolation=0.2),
            _fixed_ratio(rng, "tickets"),
            _variable_interval(rng, "mystery_drop"),
            _plain("inbox_check", "extinction"),
        ),
        n_users=_between(rng, (80, 200)),
        days=_between(rng, (14, 30)),
        zones_h=_zones(rng),
        zones_sent=not sent,
        night_share=0.08,
        chaser_share=0.12,
        quitter_share=0.1,
        activity=0.8,
    )


def _social_casino(rng: np.random.Generator, tag: str, sent: bool) -> FieldScenario:
    n_users = _between(rng, (150, 300))
    return FieldScenario(
        name=f"social_casino{tag}",
        mechanics=(
            _slot(rng, "vegas_slots"),
            _lootbox(rng, "gift_box", paid=False),
            _plain("daily_wheel", "daily_local", 200.0),
            _fixed_interval(rng, "timed_coins"),
            _healthy(rng, "missions"),
        ),
        n_users=n_users,
        days=_between(rng, (14, 30)),
        zones_h=_zones(rng),
        zones_sent=sent,
        chaser_share=0.08,
        quitter_share=0.1,
        escalating_share=0.1,
        night_share=0.05,
        n_whales=_whales(n_users),
        activity=0.5,
    )


_TEMPLATES = (
    _casino_chasers,
    _casino_ldw_night,
    _gacha_whales,
    _gacha_free_null,
    _starter_pack_equal,
    _lootbox_shop_whales,
    _clicker_escalation,
    _feed_night,
    _fitness_null,
    _casino_null,
    _arcade_mix,
    _social_casino,
)


_NULL_TEMPLATES = (_gacha_free_null, _starter_pack_equal, _fitness_null, _casino_null)


def _dated(scenario: FieldScenario, index: int) -> FieldScenario:
    # products observed over different weeks, so no two share a calendar
    return replace(scenario, start_utc=_EPOCH0 + 7 * 86400 * index)


def field_benchmark(seed: int = 0, n_products: int = 24) -> tuple[FieldScenario, ...]:
    """A varied set of products; the first 12 cover every archetype and every kind of user.

    Products come from 12 templates in turn; a template's second pass draws new parameters and
    flips whether zones are sent. Simulate each with `simulate_field(scenario, seed)`.
    """
    rng = np.random.default_rng(seed)
    out: list[FieldScenario] = []
    for i in range(n_products):
        template = _TEMPLATES[i % len(_TEMPLATES)]
        round_ = i // len(_TEMPLATES)
        tag = "" if round_ == 0 else f"_{round_ + 1}"
        out.append(_dated(template(rng, tag, round_ % 2 == 0), i))
    return tuple(out)


def null_products(seed: int = 0, n_products: int = 4) -> tuple[FieldScenario, ...]:
    """Products with no effect to find: nobody at night, no chasers, no escalation, no whales.

    Any per-user night-play, loss-chasing, escalation or spend-concentration flag raised on
    them is a false positive. Quitters-while-ahead are present as a negative control.
    """
    rng = np.random.default_rng(seed)
    out: list[FieldScenario] = []
    for i in range(n_products):
        template = _NULL_TEMPLATES[i % len(_NULL_TEMPLATES)]
        scenario = _dated(template(rng, f"_null{i + 1}", i % 2 == 0), 100 + i)
        assert scenario.no_effect
        out.append(scenario)
    return tuple(out)
