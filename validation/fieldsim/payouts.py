"""The payout rule of each mechanic archetype: which responses pay, and how much, drawn from a
buffered random stream."""

from __future__ import annotations

import bisect
import math
from abc import ABC, abstractmethod

import numpy as np

from validation.fieldsim.scenario import _DAY, _MULTS, MechanicDesign

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
