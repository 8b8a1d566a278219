"""The reinforcement schedules a mechanic can run, and which of them are slot machines or
predictable."""

from __future__ import annotations

KINDS: tuple[str, ...] = (
    "continuous",
    "fixed_ratio",
    "variable_ratio",
    "pity",
    "fixed_interval",
    "variable_interval",
    "extinction",
    "insufficient_data",
)


SLOT_MACHINE_KINDS = frozenset({"variable_ratio", "pity"})


PREDICTABLE_KINDS = frozenset({"continuous", "fixed_ratio", "fixed_interval"})
