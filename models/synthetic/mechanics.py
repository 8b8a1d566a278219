"""The schedule of each track's mechanic, gathered per track once before the first response:
ratios (varied per track where the schedule says so), pity, intervals, magnitudes and their
tiers, costs, bonuses, wait-or-pay offers, and the options a user chooses among."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.columns import NO_OPTION
from models.synthetic.specs import _FR, KINDS, ProductSpec


@dataclass(frozen=True, slots=True)
class Mechanics:
    """Per track (n,) unless said otherwise; tiers and options per mechanic (m, ·)."""

    kind_code: NDArray[np.int64]
    ratio: NDArray[np.float64]
    pity_base: NDArray[np.float64]
    pity_soft: NDArray[np.float64]
    pity_step: NDArray[np.float64]
    pity_cap: NDArray[np.float64]
    interval: NDArray[np.float64]
    calendar: NDArray[np.bool_]
    session_reset: NDArray[np.bool_]
    poisson: NDArray[np.bool_]
    sigma_mag: NDArray[np.float64]
    consolation: NDArray[np.float64]
    log_nothing: NDArray[np.float64]
    base_cost: NDArray[np.float64]
    bonus_value: NDArray[np.float64]
    bonus_p: NDArray[np.float64]
    decay: NDArray[np.float64]
    streak_loss: NDArray[np.float64]
    wop: NDArray[np.bool_]
    price_share: NDArray[np.float64]
    scale: NDArray[np.float64]
    delay_lo: NDArray[np.float64]
    delay_hi: NDArray[np.float64]
    n_tiers: int
    tier_values: NDArray[np.float64]
    tier_cum: NDArray[np.float64]
    n_opts: int
    opt_p: NDArray[np.float64]
    opt_decay: NDArray[np.float64]
    opt_code: NDArray[np.int64]
    pay_code: int
    wait_code: int
    track_has_opts: NDArray[np.bool_]
    option_names: list[str]


def mechanics(
    spec: ProductSpec,
    mech: NDArray[np.int64],
    spend_mult: NDArray[np.float64],
    rng: np.random.Generator,
) -> Mechanics:
    """Gather the parameters of each track's mechanic (mech: (n,) each track's mechanic;
    spend_mult: (n,) each user's spend multiplier, applied to costs)."""
    scheds = [ms.schedule for ms in spec.mechanics]
    n_mech = len(scheds)
    n_tr = int(mech.shape[0])

    def mech_param(name: str) -> NDArray[np.float64]:
        return np.array([float(getattr(s, name)) for s in scheds], dtype=np.float64)[mech]

    kind_code = np.array([KINDS.index(s.kind) for s in scheds], dtype=np.int64)[mech]
    ratio = mech_param("ratio") * np.exp(mech_param("ratio_spread") * rng.standard_normal(n_tr))
    ratio = np.where(kind_code == _FR, mech_param("ratio"), ratio)
    n_tiers = max(len(s.values) for s in scheds)
    tier_values = np.zeros((n_mech, n_tiers))
    tier_cum = np.ones((n_mech, n_tiers))
    for m, s in enumerate(scheds):
        probs = np.asarray(s.probabilities, dtype=np.float64)
        tier_values[m, : len(s.values)] = s.values
        tier_cum[m, : len(s.values)] = np.cumsum(probs / probs.sum())
    n_opts = max([len(s.option_probabilities) for s in scheds] + [1])
    opt_p = np.zeros((n_mech, n_opts))
    opt_decay = np.zeros((n_mech, n_opts))
    has_opts = np.zeros(n_mech, dtype=bool)
    opt_global: list[list[str]] = []
    for m, s in enumerate(scheds):
        k = len(s.option_probabilities)
        if k:
            has_opts[m] = True
            opt_p[m, :k] = s.option_probabilities
            opt_p[m, k:] = -np.inf  # never chosen
            opt_decay[m, :k] = s.option_decay if s.option_decay else 0.0
            opt_global.append(
                list(s.option_names) if s.option_names else [f"option{i}" for i in range(k)]
            )
        else:
            opt_global.append([])
    wop = mech_param("wait_or_pay") > 0.5
    option_names = sorted(
        {o for lst in opt_global for o in lst} | ({"pay", "wait"} if wop.any() else set())
    )
    opt_code = np.full((n_mech, n_opts), NO_OPTION, dtype=np.int64)
    for m, lst in enumerate(opt_global):
        for i, o in enumerate(lst):
            opt_code[m, i] = option_names.index(o)
    return Mechanics(
        kind_code=kind_code,
        ratio=ratio,
        pity_base=mech_param("pity_base"),
        pity_soft=mech_param("pity_soft_start"),
        pity_step=mech_param("pity_soft_step"),
        pity_cap=mech_param("pity_cap"),
        interval=mech_param("interval_s"),
        calendar=mech_param("calendar") > 0.5,
        session_reset=mech_param("session_reset") > 0.5,
        poisson=mech_param("poisson") > 0.5,
        sigma_mag=mech_param("lognormal_sigma"),
        consolation=mech_param("consolation"),
        log_nothing=mech_param("log_nothing"),
        base_cost=mech_param("cost") * spend_mult,
        bonus_value=mech_param("bonus_value"),
        bonus_p=mech_param("bonus_probability"),
        decay=mech_param("decay"),
        streak_loss=mech_param("streak_loss"),
        wop=wop,
        price_share=mech_param("price_share"),
        scale=mech_param("reward_scale"),
        delay_lo=np.array([s.delay_range_s[0] for s in scheds])[mech],
        delay_hi=np.array([s.delay_range_s[1] for s in scheds])[mech],
        n_tiers=n_tiers,
        tier_values=tier_values,
        tier_cum=tier_cum,
        n_opts=n_opts,
        opt_p=opt_p,
        opt_decay=opt_decay,
        opt_code=opt_code,
        pay_code=option_names.index("pay") if "pay" in option_names else NO_OPTION,
        wait_code=option_names.index("wait") if "wait" in option_names else NO_OPTION,
        track_has_opts=has_opts[mech],
        option_names=option_names,
    )
