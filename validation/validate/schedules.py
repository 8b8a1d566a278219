"""Bar 1: schedule identification on simulated mechanics of every kind."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from models.analysis import Analysis, AnalysisConfig, analyse
from models.calibration import CheckedCall
from models.rules import DEFAULT_TABLE
from models.schedule import KINDS, SLOT_MACHINE_KINDS, Schedule
from models.synthetic import (
    SimulatedProduct,
    schedule_benchmark,
    simulate_product,
)

# the science bars (README, Science §9)
SCHEDULE_MIN_ACCURACY = 0.95


SCHEDULE_MIN_MECHANICS = 200


def _truth_index(product: SimulatedProduct, analysis: Analysis) -> NDArray[np.int64]:
    """For each row of the analysis' user table, the index of its simulated track."""
    key = {
        (product.events.user_ids[int(u)], product.events.mechanics[int(m)]): i
        for i, (u, m) in enumerate(zip(product.tracks.user, product.tracks.mechanic, strict=True))
    }
    users = analysis.users
    return np.array(
        [key[(str(u), str(m))] for u, m in zip(users["user_id"], users["mechanic"], strict=True)],
        dtype=np.int64,
    )


@dataclass(frozen=True, kw_only=True)
class ScheduleBar:
    """Schedule identification over simulated mechanics: confusion[(truth, called)] = count;
    calls: every call with its confidence and whether it was right."""

    mechanics: int
    confusion: dict[tuple[str, str], int]
    errors: list[str] = field(default_factory=list)
    calls: list[CheckedCall] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        right = sum(v for (t, c), v in self.confusion.items() if t == c)
        return right / self.mechanics if self.mechanics else math.nan

    @property
    def false_slot_machine(self) -> int:
        """Mechanics of another kind called variable_ratio or pity (the worst error)."""
        return sum(
            v
            for (t, c), v in self.confusion.items()
            if c in SLOT_MACHINE_KINDS and t not in SLOT_MACHINE_KINDS
        )

    def render(self) -> str:
        called = list(KINDS)
        truths = [k for k in KINDS if k != "insufficient_data"]
        short = {k: k.replace("variable_", "var_").replace("fixed_", "fix_")[:12] for k in called}
        head = f"{'truth / called':18s}" + "".join(f"{short[c]:>13s}" for c in called)
        lines = [head]
        for t in truths:
            row = "".join(f"{self.confusion.get((t, c), 0):13d}" for c in called)
            lines.append(f"{t:18s}{row}")
        return "\n".join(lines)


def schedule_bar(
    n_mechanics: int = 224,
    *,
    seed: int = 0,
    users: tuple[int, int] = (20, 200),
    responses: tuple[float, float] = (3.0, 300.0),
    window_days: float = 0.0,
) -> ScheduleBar:
    """Simulate `n_mechanics` mechanics of every kind (schedule_benchmark), audit them with the
    full pipeline and tabulate called against true kinds. `window_days` > 0 drops the first
    days of the log (an audit window that cuts users' first runs)."""
    product = simulate_product(
        schedule_benchmark(n_mechanics, seed=seed, users=users, responses=responses), seed
    )
    columns = product.events
    if window_days > 0:
        columns = columns.take(columns.t >= columns.t.min() + window_days * 86400.0)
    analysis = analyse(columns, config=AnalysisConfig(), table=DEFAULT_TABLE)
    confusion: dict[tuple[str, str], int] = {}
    errors = []
    calls = []
    for report in analysis.mechanics:
        truth = product.truth_kind(report.mechanic)
        called = report.schedule.kind
        confusion[(truth, called)] = confusion.get((truth, called), 0) + 1
        calls.append(_checked(report.schedule, truth))
        if truth != called:
            errors.append(f"{report.mechanic}: called {called}")
    return ScheduleBar(
        mechanics=len(analysis.mechanics), confusion=confusion, errors=errors, calls=calls
    )


def _checked(schedule: Schedule, truth: str) -> CheckedCall:
    return CheckedCall(
        kind=schedule.kind,
        truth=truth,
        raw_confidence=float(schedule.evidence["raw_confidence"]),
        confidence=schedule.confidence,
    )
