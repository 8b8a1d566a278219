"""The people of a field product and how they play: visits in a personal daily window, bursty
tempo, stakes on a bet ladder, and the few who react to outcomes (quitters while ahead, loss
chasers)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from validation.fieldsim.payouts import _Draws, _rule
from validation.fieldsim.scenario import _DAY, _HOUR, _LADDER, FieldScenario, MechanicDesign


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
