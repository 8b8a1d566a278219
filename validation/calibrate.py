"""Refit the schedule-confidence calibration (`models.calibration`) on simulated products.

    python -m validation.calibrate --jobs 2     # 20 seeds × 3 regimes × 224 mechanics, 2 processes
    python -m validation.calibrate --save calls.json    # also keep the calls …
    python -m validation.calibrate --load calls.json    # … and refit on them without simulating

The sample: products of `models.synthetic.schedule_benchmark` at seeds no validation bar uses,
in three data regimes (rich histories, an audit window cutting the first days, starved
histories), audited; each call is right or wrong. The fit: per kind, a weighted isotonic
regression of right on raw score (`fit_map`), a kind with too few calls borrowing the map of its
score family. It prints the literal to paste into `models.calibration`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy.optimize import isotonic_regression

from models.calibration import ABSTENTION, CheckedCall, Knots, _apply, reliability, table_digest
from models.schedule import SLOT_MACHINE_KINDS
from validation.validate import schedule_bar

# kinds whose raw scores are on one scale, pooled when a kind has too few calls of its own
SCORE_FAMILIES: tuple[tuple[str, ...], ...] = (
    ("pity", "variable_interval", "variable_ratio"),  # logistic of a log-likelihood margin
    ("fixed_ratio", "fixed_interval"),  # purity of a step
    ("continuous",),  # paid share
    ("extinction",),  # 1 − the 95 % upper bound of p
)


# below this a kind's own map rests on too few calls (a block of 100 all right still says
# 0.995); a choice of ours
MIN_CALLS_PER_MAP = 100


# simulated products the map is fitted on: seeds no validation bar or test uses (those use
# 0–8 and 100), in three data regimes
CALIBRATION_SEEDS: tuple[int, ...] = tuple(range(200, 220))


CALIBRATION_MECHANICS = 224


CALIBRATION_REGIMES: tuple[tuple[str, Mapping[str, Any]], ...] = (
    ("rich", MappingProxyType({})),
    ("audit window cutting the first 3 days", MappingProxyType({"window_days": 3.0})),
    ("starved", MappingProxyType({"users": (20, 40), "responses": (2.0, 40.0)})),
)


def fit_map(raw: Sequence[float], right: Sequence[bool]) -> Knots:
    """The isotonic map of one kind: blocks of raw score, each worth (right + ½)/(calls + 1).

    Calls are grouped by distinct raw score; `scipy.optimize.isotonic_regression` (weighted by
    the calls at each score, increasing) gives the blocks; blocks whose shrunken values would
    decrease are pooled with their neighbour until none does."""
    x = np.asarray(raw, dtype=np.float64)
    y = np.asarray(right, dtype=np.float64)
    if x.size == 0:
        return ()
    scores, inverse = np.unique(x, return_inverse=True)
    n = np.bincount(inverse).astype(np.float64)
    r = np.bincount(inverse, weights=y)
    fit = isotonic_regression(r / n, weights=n, increasing=True)
    starts = list(np.asarray(fit.blocks[:-1], dtype=np.int64))
    ends = list(np.asarray(fit.blocks[1:], dtype=np.int64))
    blocks = [
        (int(a), float(n[a:b].sum()), float(r[a:b].sum()))
        for a, b in zip(starts, ends, strict=True)
    ]
    while True:
        values = [(rb + 0.5) / (nb + 1.0) for _, nb, rb in blocks]
        fall = next((i for i in range(len(values) - 1) if values[i] > values[i + 1]), None)
        if fall is None:
            break
        (a, na, ra), (_, nb, rb) = blocks[fall], blocks[fall + 1]
        blocks[fall : fall + 2] = [(a, na + nb, ra + rb)]
    return tuple(
        (float(scores[a]), round(v, 6)) for (a, _, _), v in zip(blocks, values, strict=True)
    )


@dataclass(frozen=True, slots=True)
class FittedMap:
    kind: str
    knots: Knots
    source: str  # whose calls it was fitted on: the kind's own, its family's, or all kinds'
    calls: int
    right: int


def fit_calibration(
    calls: Iterable[CheckedCall], among: frozenset[str] | None = None
) -> dict[str, FittedMap]:
    """One map per kind called in `calls` (abstentions aside), from its own calls when there
    are at least MIN_CALLS_PER_MAP, else from its score family's, else from all calls.

    With `among` (a set of kinds), maps for the calls of those kinds of the probability that
    the truth is any of them, the set pooling as one family."""
    named = [c for c in calls if c.kind != ABSTENTION and (among is None or c.kind in among)]
    by_kind: dict[str, list[CheckedCall]] = {}
    for c in named:
        by_kind.setdefault(c.kind, []).append(c)
    families = SCORE_FAMILIES if among is None else (tuple(sorted(among)),)
    kinds = sorted({k for family in families for k in family} | set(by_kind))

    def right(c: CheckedCall) -> bool:
        return c.right if among is None else c.truth in among

    out: dict[str, FittedMap] = {}
    for kind in kinds:
        family = next((f for f in families if kind in f), (kind,))
        pools = (
            (kind, by_kind.get(kind, [])),
            ("+".join(family), [c for c in named if c.kind in family]),
            ("all kinds", named),
        )
        source, pool = next(((s, p) for s, p in pools if len(p) >= MIN_CALLS_PER_MAP), pools[-1])
        if not pool:
            continue
        outcomes = [right(c) for c in pool]
        knots = fit_map([c.raw_confidence for c in pool], outcomes)
        out[kind] = FittedMap(kind, knots, source, len(pool), sum(outcomes))
    return out


def calibration_sample(
    seeds: Sequence[int] = CALIBRATION_SEEDS,
    n_mechanics: int = CALIBRATION_MECHANICS,
    jobs: int = 1,
) -> list[CheckedCall]:
    """Every call on the schedule-bar products at `seeds`, in every regime."""
    tasks = [
        (seed, n_mechanics, dict(regime)) for seed in seeds for _, regime in CALIBRATION_REGIMES
    ]
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs) as pool:
            parts = list(pool.map(_sample_one, tasks))
    else:
        parts = [_sample_one(t) for t in tasks]
    return [c for part in parts for c in part]


def _sample_one(task: tuple[int, int, dict[str, Any]]) -> list[CheckedCall]:
    seed, n_mechanics, regime = task
    return schedule_bar(n_mechanics, seed=seed, **regime).calls


def table_literal(maps: Mapping[str, FittedMap], slot_maps: Mapping[str, FittedMap]) -> str:
    """The Python source of CALIBRATION_VERSION, CALIBRATION and SLOT_MACHINE_CALIBRATION."""
    version = table_digest(
        {k: m.knots for k, m in maps.items()}, {k: m.knots for k, m in slot_maps.items()}
    )
    return "\n".join(
        [
            f'CALIBRATION_VERSION = "{version}"',
            _literal("CALIBRATION", maps, "right"),
            _literal("SLOT_MACHINE_CALIBRATION", slot_maps, "slot machines"),
        ]
    )


def _literal(name: str, maps: Mapping[str, FittedMap], what: str) -> str:
    body = [f"{name}: Mapping[str, Knots] = MappingProxyType(", "    {"]
    for kind in sorted(maps):
        m = maps[kind]
        body.append(f"        # {m.right}/{m.calls} {what}; fitted on the calls of {m.source}")
        body.append(f"        {kind!r}: (")
        body.extend(f"            ({x!r}, {v!r})," for x, v in m.knots)
        body.append("        ),")
    body += ["    }", ")"]
    return "\n".join(body)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m validation.calibrate",
        description="Refit the schedule-confidence calibration on simulated products.",
    )
    parser.add_argument("--seeds", type=int, nargs="*", default=list(CALIBRATION_SEEDS))
    parser.add_argument("--mechanics", type=int, default=CALIBRATION_MECHANICS)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--save", help="also write the calls to this JSON file")
    parser.add_argument("--load", help="refit on calls written by --save instead of simulating")
    args = parser.parse_args(argv)
    if args.load:
        with open(args.load, encoding="utf-8") as f:
            sample = [CheckedCall(**c) for c in json.load(f)]
    else:
        sample = calibration_sample(args.seeds, args.mechanics, args.jobs)
    if args.save:
        with open(args.save, "w", encoding="utf-8") as f:
            json.dump([asdict(c) for c in sample], f)
    maps = fit_calibration(sample)
    slot_maps = fit_calibration(sample, SLOT_MACHINE_KINDS)
    print(
        f"# {len(sample)} calls on {len(args.seeds)} seeds × {len(CALIBRATION_REGIMES)} regimes "
        f"× {args.mechanics} mechanics of models.synthetic"
    )
    print(table_literal(maps, slot_maps))
    knots = {kind: m.knots for kind, m in maps.items()}
    refitted = [
        CheckedCall(
            c.kind, c.truth, c.raw_confidence, _apply(knots.get(c.kind, ()), c.raw_confidence)
        )
        for c in sample
    ]
    print("\n# reliability of the refitted map on its own sample (in sample):")
    print("\n".join(f"# {line}" for line in reliability(refitted).render("").splitlines()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
