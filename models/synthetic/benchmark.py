"""The products of the schedule benchmark: every schedule kind in its variants, at sizes and
seeds of the caller's choice."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.synthetic.specs import (
    DAY_S,
    SESSION_GAP_S,
    MechanicSpec,
    PopulationSpec,
    ProductSpec,
    ScheduleSpec,
)

_VARIANTS: tuple[tuple[str, str], ...] = (
    ("continuous", "plain"),
    ("continuous", "bonus"),
    ("continuous", "front_loaded"),
    ("fixed_ratio", "plain"),
    ("fixed_ratio", "tiers"),
    ("fixed_ratio", "session_reset"),
    ("variable_ratio", "plain"),
    ("variable_ratio", "slot"),
    ("variable_ratio", "lottery"),
    ("variable_ratio", "personalised"),
    ("pity", "soft"),
    ("pity", "hard"),
    ("fixed_interval", "elapsed"),
    ("fixed_interval", "calendar"),
    ("variable_interval", "poisson"),
    ("variable_interval", "armed"),
    ("extinction", "plain"),
    ("extinction", "logged"),
)


def _variant_kind_order(n: int) -> list[tuple[str, str]]:
    """Variants cycling so every kind gets an equal share of mechanics."""
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for kind, variant in _VARIANTS:
        by_kind.setdefault(kind, []).append((kind, variant))
    kinds = list(by_kind)
    out = []
    for i in range(n):
        options = by_kind[kinds[i % len(kinds)]]
        out.append(options[(i // len(kinds)) % len(options)])
    return out


def benchmark_mechanic(
    name: str,
    kind: str,
    variant: str,
    rng: np.random.Generator,
    *,
    users: tuple[int, int] = (20, 200),
    responses: tuple[float, float] = (3.0, 300.0),
) -> MechanicSpec:
    """One mechanic of the schedule benchmark with randomly drawn parameters.

    Ratios 2–50, intervals 10 s–24 h, pity caps 10–90 with 20–80 % of wins before the cap,
    magnitude spreads from constant to 100×, 20–200 users responding 3–300 times (many once).
    """
    magnitude = float(np.exp(rng.uniform(0.0, np.log(100.0))))
    sched: dict[str, Any] = {"kind": kind, "values": (magnitude,), "reward_scale": magnitude}
    interval = float(np.exp(rng.uniform(np.log(10.0), np.log(DAY_S))))
    if kind == "continuous" and variant == "bonus":
        sched |= {
            "bonus_value": magnitude * rng.uniform(2.0, 5.0),
            "bonus_probability": rng.uniform(0.02, 0.12),
        }
    elif kind == "continuous" and variant == "front_loaded":
        sched |= {"decay": float(np.exp(rng.uniform(np.log(1 / 300), np.log(1 / 30))))}
    elif kind == "continuous":
        sched |= {"lognormal_sigma": rng.uniform(0.0, 0.5)}
    elif kind == "fixed_ratio":
        sched |= {"ratio": float(int(np.exp(rng.uniform(np.log(2), np.log(50.5)))))}
        if variant == "tiers":
            sched |= {"values": (magnitude, 3 * magnitude), "probabilities": (0.7, 0.3)}
        elif variant == "session_reset":
            sched |= {"session_reset": True}
    elif kind == "variable_ratio":
        ratio = float(np.exp(rng.uniform(np.log(2.0), np.log(50.0))))
        sched |= {"ratio": ratio, "log_nothing": rng.choice([0.0, 1.0])}
        if variant == "slot":
            sched |= {
                "cost": 1.0,
                "values": (2.0, 5.0, 20.0),
                "probabilities": (0.6, 0.3, 0.1),
                "consolation": rng.choice([0.0, 0.3]),
                "reward_scale": 5.0,
            }
        elif variant == "lottery":
            prize = magnitude * ratio * rng.uniform(3.0, 10.0)
            sched |= {
                "consolation": magnitude,
                "values": (prize, 3 * prize),
                "probabilities": (0.8, 0.2),
                "reward_scale": magnitude,
            }
        elif variant == "personalised":
            sched |= {"ratio_spread": rng.uniform(0.3, 1.0)}
        else:
            sched |= {"lognormal_sigma": rng.uniform(0.0, 1.0)}
    elif kind == "pity":
        cap = int(np.exp(rng.uniform(np.log(10), np.log(90.5))))
        early = rng.uniform(0.2, 0.8)  # share of runs that end before the cap region
        soft = max(cap // 2, cap - int(rng.integers(5, 17))) if variant == "soft" else 0
        horizon = soft if soft else cap
        base = 1.0 - (1.0 - early) ** (1.0 / max(horizon - 1, 1))
        step = (1.0 - base) / (cap - soft + 1) if soft else 0.0
        sched |= {
            "pity_base": base,
            "pity_soft_start": soft,
            "pity_soft_step": step,
            "pity_cap": cap,
            "lognormal_sigma": rng.uniform(0.0, 1.0),
        }
    elif kind == "fixed_interval":
        if variant == "calendar":
            interval = DAY_S
            sched |= {"calendar": True, "streak_loss": rng.choice([0.0, magnitude])}
        sched |= {"interval_s": interval}
    elif kind == "variable_interval":
        sched |= {"interval_s": interval, "poisson": variant == "poisson"}
    elif kind == "extinction" and variant == "logged":
        sched |= {"log_nothing": 1.0, "cost": 1.0}
    n_users = int(np.exp(rng.uniform(np.log(users[0]), np.log(users[1] + 0.5))))
    pop: dict[str, Any] = {
        "n_users": n_users,
        "responses": responses,
        "one_off_share": rng.uniform(0.0, 0.3),
        "alpha": (0.05, 0.8),
        "b0": (0.5, 3.0),
        "b_v": (-1.0, 1.0),
        "b_delta": (-1.0, 1.0),
        "loss_chaser_share": 0.2,
        "tempo_s": float(np.exp(rng.uniform(0.0, np.log(60.0)))),
        "gap_s": float(np.exp(rng.uniform(np.log(3600.0), np.log(2 * DAY_S)))),
        "utc_offsets_h": (-8.0, -5.0, 0.0, 1.0, 9.0),
        "night_owl_share": 0.1,
    }
    if kind in ("fixed_interval", "variable_interval"):
        # users respond several times per interval, so the interval is observable
        per_response = sched["interval_s"] / rng.uniform(2.0, 10.0)
        if per_response < 0.6 * SESSION_GAP_S:
            pop |= {"tempo_s": per_response, "tempo_sigma": 0.3}
        else:
            pop |= {
                "b0": (-4.0, -2.0),
                "gap_s": max(per_response - 1.05 * SESSION_GAP_S, 60.0),
                "b_v": (0.0, 0.0),
                "b_delta": (0.0, 0.0),
                "loss_chaser_share": 0.0,
            }
    return MechanicSpec(name=name, schedule=ScheduleSpec(**sched), population=PopulationSpec(**pop))


def schedule_benchmark(
    n_mechanics: int,
    *,
    seed: int,
    users: tuple[int, int] = (20, 200),
    responses: tuple[float, float] = (3.0, 300.0),
) -> ProductSpec:
    """A product of `n_mechanics` mechanics covering every schedule kind and variant, each with
    its own users and randomly drawn parameters (the schedule-identification bar)."""
    rng = np.random.default_rng(seed)
    mechanics = tuple(
        benchmark_mechanic(
            f"m{i:04d}-{kind}-{variant}", kind, variant, rng, users=users, responses=responses
        )
        for i, (kind, variant) in enumerate(_variant_kind_order(n_mechanics))
    )
    return ProductSpec(mechanics=mechanics, shared_users=False)
