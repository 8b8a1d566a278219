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

import bisect
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from models.columns import OFFSET_UNKNOWN, EventColumns

__all__ = [
    "SCHEDULE_KINDS",
    "Archetype",
    "FieldMechanic",
    "FieldProduct",
    "FieldScenario",
    "FieldUsers",
    "MechanicDesign",
    "ScheduleKind",
    "field_benchmark",
    "null_products",
    "simulate_field",
]

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


# ---------------------------------------------------------------------------------------------
# Random draws on the hot path


_BUFFER = 8192


class _Draws:
    """Buffered uniforms and normals from one Generator.

    The per-response loop is plain Python; drawing numpy scalars one at a time would cost
    more than the rest of the loop, so draws come from pre-filled lists.
    """

    __slots__ = ("_rng", "_u", "_ui", "_z", "_zi")

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._u: list[float] = []
        self._ui = 0
        self._z: list[float] = []
        self._zi = 0

    def u(self) -> float:
        i = self._ui
        if i >= len(self._u):
            self._u = self._rng.random(_BUFFER).tolist()
            i = 0
        self._ui = i + 1
        return self._u[i]

    def z(self) -> float:
        i = self._zi
        if i >= len(self._z):
            self._z = self._rng.standard_normal(_BUFFER).tolist()
            i = 0
        self._zi = i + 1
        return self._z[i]

    def loguniform(self, lo: float, hi: float) -> float:
        return lo * math.exp(math.log(hi / lo) * self.u())

    def poisson(self, lam: float) -> int:
        return int(self._rng.poisson(lam)) if lam > 0 else 0


# ---------------------------------------------------------------------------------------------
# Payout rules. One instance per user and mechanic, so stateful rules keep per-user counters.


class _Rule(ABC):
    __slots__ = ("draws",)

    def __init__(self, draws: _Draws) -> None:
        self.draws = draws

    @abstractmethod
    def respond(self, t: float, stake: float) -> float:
        """The payout of a response at time t with this stake (0: nothing)."""


class _Slot(_Rule):
    __slots__ = ("cum", "mults", "p_big", "p_small")

    def __init__(self, draws: _Draws, design: MechanicDesign) -> None:
        super().__init__(draws)
        self.p_big = design.p
        self.p_small = design.p_small
        # what the small payouts return is taken out of the RTP before sizing the wins
        self.mults, self.cum = _paytable((design.rtp - 0.55 * design.p_small) / design.p)

    def respond(self, t: float, stake: float) -> float:
        r = self.draws.u()
        if r < self.p_big:
            k = min(bisect.bisect_right(self.cum, self.draws.u()), len(self.mults) - 1)
            return round(stake * self.mults[k], 2)
        if r < self.p_big + self.p_small:
            return round(stake * (0.2 + 0.05 * int(self.draws.u() * 15)), 2)
        return 0.0


def _paytable(target_mean: float) -> tuple[list[float], list[float]]:
    """Weights ∝ m^−a over the multiplier grid, with a solved so the mean win is target_mean."""
    m = np.asarray(_MULTS)
    lo, hi = 0.0, 12.0
    for _ in range(80):
        a = 0.5 * (lo + hi)
        w = m**-a
        if float((w * m).sum() / w.sum()) > target_mean:
            lo = a
        else:
            hi = a
    w = m ** -(0.5 * (lo + hi))
    cum = np.cumsum(w / w.sum())
    cum[-1] = 1.0
    return [float(x) for x in m], [float(c) for c in cum]


class _Lootbox(_Rule):
    __slots__ = ("paid", "tiers", "unit")

    def __init__(self, draws: _Draws, design: MechanicDesign) -> None:
        super().__init__(draws)
        self.paid = design.paid
        self.unit = design.amount
        self.tiers = sorted(design.tiers)

    def respond(self, t: float, stake: float) -> float:
        # the common item is worth exactly what was paid, so the box never loses on paper
        unit = stake if self.paid else self.unit
        r = self.draws.u()
        acc = 0.0
        for prob, mult in self.tiers:
            acc += prob
            if r < acc:
                return round(unit * mult, 2)
        return unit


class _Gacha(_Rule):
    __slots__ = ("cons", "count", "p0", "paid", "pity", "rare", "soft_from", "soft_step", "unit")

    def __init__(self, draws: _Draws, design: MechanicDesign) -> None:
        super().__init__(draws)
        self.p0 = design.p
        self.pity = design.ratio
        soft = design.archetype == "gacha_soft"
        self.soft_from = design.soft_from if soft and design.soft_from > 0 else design.ratio + 1
        self.soft_step = design.soft_step
        self.rare = design.rare_mult
        self.cons = design.consolation
        self.paid = design.paid
        self.unit = design.amount
        self.count = 0

    def respond(self, t: float, stake: float) -> float:
        self.count += 1
        k = self.count
        if k >= self.pity:
            p = 1.0
        elif k >= self.soft_from:
            p = min(1.0, self.p0 + (k - self.soft_from + 1) * self.soft_step)
        else:
            p = self.p0
        unit = stake if self.paid else self.unit
        if self.draws.u() < p:
            self.count = 0
            return round(unit * self.rare, 2)
        return round(unit * self.cons, 2) if self.cons > 0 else 0.0


class _FixedRatio(_Rule):
    __slots__ = ("amount", "count", "n")

    def __init__(self, draws: _Draws, design: MechanicDesign) -> None:
        super().__init__(draws)
        self.n = design.ratio
        self.amount = design.amount
        self.count = 0

    def respond(self, t: float, stake: float) -> float:
        self.count += 1
        if self.count >= self.n:
            self.count = 0
            return self.amount
        return 0.0


class _Continuous(_Rule):
    __slots__ = ("amount",)

    def __init__(self, draws: _Draws, design: MechanicDesign) -> None:
        super().__init__(draws)
        self.amount = design.amount

    def respond(self, t: float, stake: float) -> float:
        return self.amount


class _HealthyMix(_Rule):
    __slots__ = ("amount", "p")

    def __init__(self, draws: _Draws, design: MechanicDesign) -> None:
        super().__init__(draws)
        self.amount = design.amount
        self.p = design.p

    def respond(self, t: float, stake: float) -> float:
        if self.draws.u() < self.p:
            return round(self.amount * (1.2 + 0.8 * self.draws.u()), 2)
        return self.amount


class _DailyLocal(_Rule):
    __slots__ = ("amount", "last_day", "offset")

    def __init__(self, draws: _Draws, design: MechanicDesign, offset_s: int) -> None:
        super().__init__(draws)
        self.amount = design.amount
        # the product knows the user's zone even when its log does not carry it
        self.offset = float(offset_s)
        self.last_day = -(10**9)

    def respond(self, t: float, stake: float) -> float:
        day = math.floor((t + self.offset) / _DAY)
        if day > self.last_day:
            self.last_day = day
            return self.amount
        return 0.0


class _FixedInterval(_Rule):
    __slots__ = ("amount", "interval", "ready")

    def __init__(self, draws: _Draws, design: MechanicDesign) -> None:
        super().__init__(draws)
        self.amount = design.amount
        self.interval = design.interval_s
        self.ready = -math.inf

    def respond(self, t: float, stake: float) -> float:
        if t >= self.ready:
            self.ready = t + self.interval
            return self.amount
        return 0.0


class _VariableInterval(_Rule):
    __slots__ = ("amount", "mean", "mu", "ready", "sigma")

    def __init__(self, draws: _Draws, design: MechanicDesign) -> None:
        super().__init__(draws)
        self.amount = design.amount
        self.mean = design.interval_s
        self.sigma = design.interval_sigma
        self.mu = math.log(design.interval_s) - 0.5 * design.interval_sigma**2
        self.ready = -math.inf

    def respond(self, t: float, stake: float) -> float:
        if t < self.ready:
            return 0.0
        if self.sigma > 0:
            wait = math.exp(self.mu + self.sigma * self.draws.z())
        else:
            wait = -self.mean * math.log(1.0 - self.draws.u())
        self.ready = t + wait
        return self.amount


class _Extinction(_Rule):
    __slots__ = ()

    def respond(self, t: float, stake: float) -> float:
        return 0.0


def _rule(design: MechanicDesign, draws: _Draws, offset_s: int) -> _Rule:
    arch = design.archetype
    if arch in ("slot", "slot_ldw"):
        return _Slot(draws, design)
    if arch in ("lootbox_paid", "lootbox_free"):
        return _Lootbox(draws, design)
    if arch in ("gacha_hard", "gacha_soft"):
        return _Gacha(draws, design)
    if arch == "fixed_ratio":
        return _FixedRatio(draws, design)
    if arch == "continuous":
        return _Continuous(draws, design)
    if arch == "healthy_mix":
        return _HealthyMix(draws, design)
    if arch == "daily_local":
        return _DailyLocal(draws, design, offset_s)
    if arch == "fixed_interval":
        return _FixedInterval(draws, design)
    if arch == "variable_interval":
        return _VariableInterval(draws, design)
    return _Extinction(draws)


# ---------------------------------------------------------------------------------------------
# Behaviour


@dataclass(frozen=True, slots=True)
class _Mech:
    """Static per-mechanic settings the behaviour loop needs."""

    design: MechanicDesign
    irt_s: float
    budget: float
    floor_s: float  # no two responses of one mechanic closer than this


def _mech(design: MechanicDesign) -> _Mech:
    info = design.info
    irt = design.irt_s or info.irt_s
    # a thumb cannot re-press faster than a quarter second; a check takes a few seconds
    floor = 0.25 if info.role == "rapid" else 3.0
    return _Mech(design, irt, design.budget or info.budget, floor)


class _Log:
    """Responses as parallel Python lists; the payout rides on its response until assembly."""

    __slots__ = ("cost", "mech", "t", "user", "value")

    def __init__(self) -> None:
        self.user: list[int] = []
        self.mech: list[int] = []
        self.t: list[float] = []
        self.cost: list[float] = []
        self.value: list[float] = []


@dataclass(slots=True, kw_only=True)
class _Person:
    index: int
    offset_s: int
    night: bool
    chaser: bool
    quitter: bool
    escalating: bool
    whale: bool
    window: tuple[float, float]  # local seconds of the day window
    join: int
    last: int
    p_active: float
    visits_lam: float
    activity: float
    tempo: float
    growth: float
    prefs: list[float]  # over the product's primary mechanics
    check_rate: list[float]  # per mechanic, 0 when not a check or not used
    check_start: list[float]
    base_stake: list[int]  # per mechanic: ladder index (slots) or -1


_NIGHT_WINDOW = (60.0, 5.5 * _HOUR)


class _Player:
    """Runs one person through the observation period, appending their responses to a log."""

    def __init__(
        self,
        person: _Person,
        scenario: FieldScenario,
        mechs: list[_Mech],
        primaries: list[int],
        forced: int,
        draws: _Draws,
        log: _Log,
    ) -> None:
        self.p = person
        self.sc = scenario
        self.mechs = mechs
        self.primaries = primaries
        self.forced = forced
        self.draws = draws
        self.log = log
        self.rules = [_rule(m.design, draws, person.offset_s) for m in mechs]

    def run(self) -> None:
        p, draws = self.p, self.draws
        first = True
        owes_purchase = self.forced >= 0
        for day in range(p.join, p.last + 1):
            if day != p.join and draws.u() >= p.p_active:
                continue
            n_visits = 1 + min(draws.poisson(p.visits_lam), 5)
            plan: list[tuple[float, tuple[float, float]]] = []
            for _ in range(n_visits):
                at_night = p.night and draws.u() < 0.85
                window = _NIGHT_WINDOW if at_night else p.window
                lo, hi = window
                if first:
                    # the first visit must fit before bedtime, so every user shows up
                    start = lo + (hi - 2 * _HOUR - lo) * draws.u()
                    first = False
                elif not at_night and draws.u() < 0.5 and hi > 17 * _HOUR:
                    evening = max(lo, 17 * _HOUR)  # play clusters in the evening
                    start = evening + (hi - evening) * draws.u()
                else:
                    start = lo + (hi - lo) * draws.u()
                plan.append((start, window))
            plan.sort(key=lambda v: v[0])
            day0 = self.sc.start_utc + day * _DAY - p.offset_s
            prev_end = -math.inf
            for start, (_, hi) in plan:
                t0 = max(day0 + start, prev_end + draws.loguniform(120.0, 3600.0))
                t_end = day0 + hi
                if t0 >= t_end - 60.0:
                    continue
                prev_end = self._visit(day, t0, t_end, owes_purchase)
                owes_purchase = False

    def _visit(self, day: int, t0: float, t_end: float, forced: bool) -> float:
        p, draws = self.p, self.draws
        esc = 1.0
        if p.escalating:
            span = max(1, self.sc.days - 1 - p.join)
            esc = p.growth ** ((day - p.join) / span)
        t, last = t0, t0
        used: list[int] = []
        if forced:
            last, _ = self._segment(self.forced, t, math.inf, self.sc.equal_spend, 1.0, True)
            used.append(self.forced)
            t = last + draws.loguniform(5.0, 60.0)
        n_seg = 2 if len(self.primaries) > 1 and draws.u() < 0.3 else 1
        for _ in range(n_seg):
            m = self._pick(used)
            used.append(m)
            last_seg, quit_ = self._segment(m, t, t_end, 0, esc, False)
            last = max(last, last_seg)
            if quit_:
                break
            t = last + draws.loguniform(5.0, 90.0)
        self._sprinkle(t0, last, t_end, used)
        return last

    def _pick(self, used: list[int]) -> int:
        weights = [
            0.0 if m in used else w for m, w in zip(self.primaries, self.p.prefs, strict=True)
        ]
        total = sum(weights)
        r = self.draws.u() * total
        for m, w in zip(self.primaries, weights, strict=True):
            r -= w
            if r < 0 and w > 0:
                return m
        return next(m for m, w in zip(self.primaries, weights, strict=True) if w > 0)

    def _median_budget(self, mech: _Mech, esc: float) -> float:
        p = self.p
        median = mech.budget * p.activity * esc
        if p.whale and mech.design.paid:
            # boxes and pulls have one price, so a whale's spend can only come from volume
            median *= 2.0 if mech.design.variable_stake else 20.0
        return median

    def _budget(self, mech: _Mech, median: float) -> int:
        draws, p = self.draws, self.p
        if draws.u() < 0.12 and not (p.whale and mech.design.paid):
            return 1 + int(3 * draws.u())  # a peek: open, one or two taps, leave
        return max(1, round(median * math.exp(0.8 * draws.z())))

    def _segment(
        self, m: int, t: float, t_end: float, budget: int, esc: float, forced: bool
    ) -> tuple[float, bool]:
        """Responses on mechanic m from t; returns the last response time and whether the
        user quit the whole visit (quitting while ahead)."""
        p, draws, log = self.p, self.draws, self.log
        u, z = draws.u, draws.z
        mech = self.mechs[m]
        design = mech.design
        rule = self.rules[m]
        median_budget = self._median_budget(mech, esc)
        if not forced:
            budget = self._budget(mech, median_budget)
        median = mech.irt_s * p.tempo
        if p.whale and design.paid:
            median *= 0.5  # whales skip the animations
        floor = mech.floor_s
        # about one break in a visit of typical length, however long the visits are
        p_break = 0.0 if forced else min(0.1, max(0.001, 0.7 / median_budget))
        paid = design.paid
        chase = p.chaser and paid and not forced
        quit_ahead = p.quitter and paid and not forced
        variable = design.variable_stake and not forced
        top = len(_LADDER) - 1
        level = p.base_stake[m]
        if variable and u() < 0.25:
            # some visits are played a notch higher or lower, whatever happened before
            level = min(top, max(0, level + (1 if u() < 0.5 else -1)))
        cur = level
        price = design.price
        n = 0
        last = t
        while n < budget and t < t_end:
            stake = _LADDER[cur] if variable else price
            value = rule.respond(t, stake)
            log.user.append(p.index)
            log.mech.append(m)
            log.t.append(t)
            log.cost.append(stake)
            log.value.append(value)
            last = t
            n += 1
            speed = 1.0
            if chase:
                if value < stake:
                    if variable and u() < 0.7:
                        cur = min(cur + (2 if u() < 0.4 else 1), level + 3, top)
                    if u() < 0.5:
                        budget += 1
                    speed = 0.35 + 0.35 * u()
                elif value > stake and u() < 0.9:
                    cur = level
            elif variable and u() < 0.01:
                cur = min(level + 2, top, max(level - 2, 0, cur + (1 if u() < 0.5 else -1)))
            if quit_ahead and value > stake and u() < 0.6:
                return last, True
            r = u()
            if r < p_break:
                gap = draws.loguniform(300.0, 2700.0)  # a break; the user comes back
            elif r < p_break + 0.13:
                gap = 6.0 * median * math.exp(0.8 * z())  # a hesitation
            else:
                gap = median * math.exp(0.5 * z())
            if forced:
                gap = min(gap, 120.0)
            t += max(floor, gap * speed)
        return last, False

    def _sprinkle(self, t0: float, t1: float, t_end: float, used: list[int]) -> None:
        """Checks and claims on the other mechanics while the visit lasts."""
        p, draws, log = self.p, self.draws, self.log
        duration_h = (t1 - t0) / _HOUR
        for m, rate in enumerate(p.check_rate):
            at_start = p.check_start[m]
            if m in used or (rate <= 0 and at_start <= 0):
                continue
            times = [
                t0 + duration_h * _HOUR * draws.u() for _ in range(draws.poisson(rate * duration_h))
            ]
            if draws.u() < at_start:
                times.append(t0 + 20.0 * draws.u())
            times.sort()
            prev = -math.inf
            for t in times:
                if t - prev < self.mechs[m].floor_s or t >= t_end:
                    continue
                log.user.append(p.index)
                log.mech.append(m)
                log.t.append(t)
                log.cost.append(0.0)
                log.value.append(self.rules[m].respond(t, 0.0))
                prev = t


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


# ---------------------------------------------------------------------------------------------
# The benchmark

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
