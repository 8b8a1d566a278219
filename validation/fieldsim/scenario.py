"""What a field product is made of and what its simulation returns: schedule kinds and mechanic
archetypes, the design of each mechanic, the scenario (mechanics, users, period, zones) and the
product (events and the ground truth of every mechanic and user)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from models.columns import EventColumns

ScheduleKind = Literal[
    "continuous",
    "fixed_ratio",
    "variable_ratio",
    "pity",
    "fixed_interval",
    "variable_interval",
    "extinction",
]


Archetype = Literal[
    "slot",
    "slot_ldw",
    "lootbox_paid",
    "lootbox_free",
    "gacha_hard",
    "gacha_soft",
    "fixed_ratio",
    "continuous",
    "healthy_mix",
    "daily_local",
    "fixed_interval",
    "variable_interval",
    "extinction",
]


SCHEDULE_KINDS: tuple[ScheduleKind, ...] = (
    "continuous",
    "fixed_ratio",
    "variable_ratio",
    "pity",
    "fixed_interval",
    "variable_interval",
    "extinction",
)


_DAY = 86400.0


_HOUR = 3600.0


# 2024-03-04 00:00 UTC, a Monday; products are spread over the following weeks.
_EPOCH0 = 1709510400


# Real slot bets come from a discrete ladder; steps of ×1.33–1.67 make a chaser's
# one-or-two-step raise the ×1.5–2 typical of escalating bets.
_LADDER: tuple[float, ...] = (
    0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0,
    50.0, 75.0, 100.0, 150.0, 200.0, 300.0, 500.0, 750.0, 1000.0,
)  # fmt: skip


_LOG_LADDER = np.log(np.asarray(_LADDER))


# Win multipliers of a slot paytable; their weights are solved for the design's RTP.
_MULTS: tuple[float, ...] = (1.2, 1.5, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0, 35.0, 50.0, 100.0, 250.0)


_Role = Literal["rapid", "check", "claim"]


@dataclass(frozen=True, slots=True)
class _ArchetypeInfo:
    kind: ScheduleKind
    # rapid: played in runs; check: looked at every few minutes; claim: once in a while
    role: _Role
    irt_s: float  # median seconds between responses inside a run
    budget: float  # median responses per visit segment
    check_rate_h: float  # checks per hour of visit when sprinkled into another mechanic's visit
    check_at_start: float  # chance of one check right at the start of a visit


_ARCHETYPES: dict[str, _ArchetypeInfo] = {
    "slot": _ArchetypeInfo("variable_ratio", "rapid", 1.1, 45.0, 0.0, 0.0),
    "slot_ldw": _ArchetypeInfo("variable_ratio", "rapid", 1.1, 45.0, 0.0, 0.0),
    "lootbox_paid": _ArchetypeInfo("variable_ratio", "rapid", 7.0, 5.0, 0.0, 0.0),
    "lootbox_free": _ArchetypeInfo("variable_ratio", "rapid", 5.0, 5.0, 0.0, 0.0),
    "gacha_hard": _ArchetypeInfo("pity", "rapid", 3.0, 12.0, 0.0, 0.0),
    "gacha_soft": _ArchetypeInfo("pity", "rapid", 3.0, 12.0, 0.0, 0.0),
    "fixed_ratio": _ArchetypeInfo("fixed_ratio", "rapid", 2.0, 35.0, 0.0, 0.0),
    "continuous": _ArchetypeInfo("continuous", "rapid", 6.0, 12.0, 0.0, 0.0),
    "healthy_mix": _ArchetypeInfo("continuous", "rapid", 12.0, 10.0, 0.0, 0.0),
    "daily_local": _ArchetypeInfo("fixed_interval", "claim", 0.0, 0.0, 0.25, 0.7),
    "fixed_interval": _ArchetypeInfo("fixed_interval", "check", 90.0, 6.0, 3.0, 0.5),
    "variable_interval": _ArchetypeInfo("variable_interval", "check", 60.0, 7.0, 5.0, 0.5),
    "extinction": _ArchetypeInfo("extinction", "check", 20.0, 9.0, 6.0, 0.3),
}


_PAID_ALWAYS = frozenset({"slot", "slot_ldw", "lootbox_paid"})


_MAY_BE_PAID = frozenset({"gacha_hard", "gacha_soft"})


@dataclass(frozen=True, kw_only=True)
class FieldMechanic:
    """Ground truth of one simulated mechanic.

    name:           the mechanic's name in the event log
    kind:           its true reinforcement schedule
    paid:           responses cost money (a positive `cost`)
    lottery:        most of its value is carried by a rare random tier (loot boxes, gacha)
    calendar_reset: a daily reward that resets at the user's local midnight
    ldw:            payouts above 0 but below the stake are common (losses disguised as wins)
    archetype:      which generator produced it (see `MechanicDesign`)
    """

    name: str
    kind: ScheduleKind
    paid: bool
    lottery: bool
    calendar_reset: bool
    ldw: bool
    archetype: Archetype


@dataclass(frozen=True, kw_only=True)
class MechanicDesign:
    """How one mechanic pays; each archetype reads only the fields listed for it.

    name:           the mechanic's name in the event log
    archetype:      slot | slot_ldw | lootbox_paid | lootbox_free | gacha_hard | gacha_soft |
                    fixed_ratio | continuous | healthy_mix | daily_local | fixed_interval |
                    variable_interval | extinction
    price:          cost of one response: the median base stake (slots), the box or pull price
                    (lootbox_paid, paid gacha); must be 0 for the free archetypes
    amount:         value unit: the fixed payout (fixed_ratio, continuous, healthy_mix base,
                    daily_local, timers), the common item (lootbox_free), the gacha unit of a
                    free gacha; paid boxes and pulls use the price instead
    p:              chance a spin wins above its stake (slot, slot_ldw), base rare chance per pull
                    (gacha), chance of the bonus (healthy_mix)
    p_small:        slot_ldw: chance a spin pays 0.2–0.9× its stake
    rtp:            slots: return to player, the mean payout per unit staked
    tiers:          loot boxes: (probability, multiple of the unit) of the non-common tiers
    ratio:          fixed_ratio: responses per reward; gacha: pulls at which a rare is certain
    soft_from:      gacha_soft: the pull count from which the rare chance ramps up
    soft_step:      gacha_soft: the added rare chance per pull past `soft_from`
    rare_mult:      gacha: the rare's value as a multiple of the unit
    consolation:    gacha: value of a non-rare pull as a multiple of the unit (0: no reward)
    interval_s:     fixed_interval: seconds from one collection to the next availability;
                    variable_interval: the mean random wait
    interval_sigma: variable_interval: 0 for exponential waits, else the log-sd of lognormal ones
    irt_s, budget:  overrides (0 keeps the archetype's default) of the median seconds between
                    responses and the median responses per visit segment
    """

    name: str
    archetype: Archetype
    price: float = 0.0
    amount: float = 1.0
    p: float = 0.2
    p_small: float = 0.0
    rtp: float = 0.93
    tiers: tuple[tuple[float, float], ...] = ((0.01, 100.0), (0.1, 3.0))
    ratio: int = 10
    soft_from: int = 0
    soft_step: float = 0.06
    rare_mult: float = 80.0
    consolation: float = 0.0
    interval_s: float = 3600.0
    interval_sigma: float = 0.0
    irt_s: float = 0.0
    budget: float = 0.0

    def __post_init__(self) -> None:
        if self.archetype not in _ARCHETYPES:
            raise ValueError(f"unknown archetype {self.archetype!r}")
        if self.archetype in _PAID_ALWAYS and self.price <= 0:
            raise ValueError(f"{self.name}: a {self.archetype} needs a positive price")
        if self.archetype not in _PAID_ALWAYS | _MAY_BE_PAID and self.price != 0:
            raise ValueError(f"{self.name}: a {self.archetype} is free (price 0)")
        if self.amount <= 0:
            raise ValueError(f"{self.name}: amount must be positive")
        if self.archetype in ("slot", "slot_ldw"):
            if not 0 < self.p < 1 or not 0 <= self.p_small < 1 - self.p:
                raise ValueError(f"{self.name}: slot probabilities out of range")
            if self.rtp - 0.55 * self.p_small <= 1.25 * self.p:
                raise ValueError(f"{self.name}: the RTP leaves too little for the wins")
        if self.archetype in ("fixed_ratio", "gacha_hard", "gacha_soft") and self.ratio < 1:
            raise ValueError(f"{self.name}: ratio must be at least 1")
        if sum(prob for prob, _ in self.tiers) >= 1:
            raise ValueError(f"{self.name}: tier probabilities must sum below 1")

    @property
    def info(self) -> _ArchetypeInfo:
        return _ARCHETYPES[self.archetype]

    @property
    def paid(self) -> bool:
        return self.price > 0

    @property
    def variable_stake(self) -> bool:
        """Slots let the player choose the bet; boxes and pulls have one price."""
        return self.archetype in ("slot", "slot_ldw")

    @property
    def truth(self) -> FieldMechanic:
        arch = self.archetype
        gacha = arch in ("gacha_hard", "gacha_soft")
        ldw = arch == "slot_ldw" or (gacha and self.paid and 0 < self.consolation < 1)
        return FieldMechanic(
            name=self.name,
            kind=self.info.kind,
            paid=self.paid,
            lottery=arch in ("lootbox_paid", "lootbox_free") or gacha,
            calendar_reset=arch == "daily_local",
            ldw=ldw,
            archetype=arch,
        )


@dataclass(frozen=True, kw_only=True)
class FieldScenario:
    """The knobs of one simulated product.

    name:             product name (user ids are u00000, u00001, … in every product)
    mechanics:        its mechanics; at least one must not be a daily claim
    n_users, days:    population and observation period (local calendar days)
    zones_h:          the UTC offsets (hours) its users live in
    zone_weights:     share of users per zone (None: drawn at random)
    zones_sent:       the log carries each user's offset (else `utc_offset_s` is OFFSET_UNKNOWN)
    night_share:      users who play mostly 00:00–05:30 local
    chaser_share:     users who chase losses on paid mechanics
    quitter_share:    users who quit while ahead on paid mechanics (disjoint from chasers)
    escalating_share: users whose visits lengthen ×2–3 over their tenure
    n_whales:         users with huge stakes and activity on paid mechanics
    equal_spend:      when positive, every user makes exactly this many responses on the one
                      paid mechanic, at its price, in their first visit
    stake_sigma:      log-sd of users' base stakes on slots
    activity:         scales every visit's length budget
    start_utc:        Unix time of 00:00 UTC of the first day
    """

    name: str
    mechanics: tuple[MechanicDesign, ...]
    n_users: int
    days: int
    zones_h: tuple[float, ...] = (-5.0, 1.0, 8.0)
    zone_weights: tuple[float, ...] | None = None
    zones_sent: bool = True
    night_share: float = 0.0
    chaser_share: float = 0.0
    quitter_share: float = 0.0
    escalating_share: float = 0.0
    n_whales: int = 0
    equal_spend: int = 0
    stake_sigma: float = 0.6
    activity: float = 1.0
    start_utc: int = _EPOCH0

    def __post_init__(self) -> None:
        names = [m.name for m in self.mechanics]
        if len(set(names)) != len(names) or not names:
            raise ValueError(f"{self.name}: mechanic names must be unique and non-empty")
        if all(m.info.role == "claim" for m in self.mechanics):
            raise ValueError(f"{self.name}: needs a mechanic that is not a daily claim")
        if self.n_users < 1 or self.days < 1 or not self.zones_h:
            raise ValueError(f"{self.name}: needs users, days and zones")
        if self.zone_weights is not None and len(self.zone_weights) != len(self.zones_h):
            raise ValueError(f"{self.name}: one weight per zone")
        shares = (self.night_share, self.chaser_share, self.quitter_share, self.escalating_share)
        if any(not 0 <= s <= 1 for s in shares) or self.chaser_share + self.quitter_share > 1:
            raise ValueError(f"{self.name}: user shares out of range")
        if not 0 <= self.n_whales <= self.n_users:
            raise ValueError(f"{self.name}: n_whales out of range")
        if self.equal_spend:
            paid = [m for m in self.mechanics if m.paid]
            if len(paid) != 1 or self.chaser_share or self.n_whales:
                raise ValueError(
                    f"{self.name}: equal spend needs exactly one paid mechanic, "
                    "no chasers and no whales"
                )
            if not any(m.info.role != "claim" and not m.paid for m in self.mechanics):
                raise ValueError(f"{self.name}: equal spend needs a free mechanic to play")

    @property
    def truth(self) -> tuple[FieldMechanic, ...]:
        return tuple(m.truth for m in self.mechanics)

    @property
    def kinds(self) -> frozenset[ScheduleKind]:
        return frozenset(m.kind for m in self.truth)

    @property
    def no_effect(self) -> bool:
        """Nobody at night, no chasers, no escalation, no whales: every per-user flag is false."""
        return (
            self.night_share == 0
            and self.chaser_share == 0
            and self.escalating_share == 0
            and self.n_whales == 0
        )


@dataclass(frozen=True, kw_only=True)
class FieldUsers:
    """Per-user ground truth, every array aligned with `user_ids`.

    utc_offset_s:      the true zone offset (seconds), whether or not the log carries it
    night_player:      plays mostly 00:00–05:30 local
    loss_chaser:       after a loss on a paid mechanic raises the stake, speeds up, plays longer
    quits_while_ahead: often stops right after a win on a paid mechanic; ignores losses
    escalating:        visit length grows ×2–3 over the user's tenure
    whale:             designed as one of the few users carrying most of the revenue
    spend:             total cost paid over all mechanics
    responses:         total responses over all mechanics
    """

    user_ids: tuple[str, ...]
    utc_offset_s: NDArray[np.int32]
    night_player: NDArray[np.bool_]
    loss_chaser: NDArray[np.bool_]
    quits_while_ahead: NDArray[np.bool_]
    escalating: NDArray[np.bool_]
    whale: NDArray[np.bool_]
    spend: NDArray[np.float64]
    responses: NDArray[np.int64]

    def index(self, user_id: str) -> int:
        return self.user_ids.index(user_id)


@dataclass(frozen=True, kw_only=True)
class FieldProduct:
    """One simulated product: its event log and the truth behind it."""

    columns: EventColumns
    mechanics: tuple[FieldMechanic, ...]
    users: FieldUsers
    scenario: FieldScenario
    seed: int

    @property
    def nobody_at_night(self) -> bool:
        return not bool(self.users.night_player.any())

    @property
    def no_loss_chasers(self) -> bool:
        return not bool(self.users.loss_chaser.any())

    @property
    def stationary(self) -> bool:
        """No user's visits lengthen with tenure."""
        return not bool(self.users.escalating.any())

    @property
    def no_whales(self) -> bool:
        return not bool(self.users.whale.any())

    @property
    def no_effect(self) -> bool:
        return self.nobody_at_night and self.no_loss_chasers and self.stationary and self.no_whales

    @property
    def equal_spenders(self) -> bool:
        return self.scenario.equal_spend > 0

    def mechanic(self, name: str) -> FieldMechanic:
        for m in self.mechanics:
            if m.name == name:
                return m
        raise KeyError(name)

    @property
    def spend_concentrated(self) -> bool:
        """The top 1 % of users paid at least 40 % of all spend (measured, not designed)."""
        return self.spend_top_share(0.01) >= 0.4

    def spend_top_share(self, fraction: float = 0.01) -> float:
        """Share of all spend paid by the top `fraction` of users (at least one user)."""
        spend = np.sort(self.users.spend)[::-1]
        total = float(spend.sum())
        if total <= 0:
            return 0.0
        k = max(1, round(fraction * spend.shape[0]))
        return float(spend[:k].sum()) / total
