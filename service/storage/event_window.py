"""Which stored events an audit reads: a time span and a set of mechanics.

One definition of the selection, as conditions on stored fields, from which each reader
builds its own filter: the SQLite reader a SQLAlchemy clause, the PostgreSQL reader SQL text,
the offline CLI a test of each validated record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Comparison = Literal[">=", "<", "in"]

# How each comparison tests a Python value (the offline CLI's records).
_TESTS: dict[Comparison, Callable[[Any, Any], bool]] = {
    ">=": lambda value, bound: bool(value >= bound),
    "<": lambda value, bound: bool(value < bound),
    "in": lambda value, bound: value in bound,
}


@dataclass(frozen=True, slots=True)
class EventWindow:
    """Which events an audit reads: [start, end) and the mechanics (all when empty)."""

    start: datetime | None = None
    end: datetime | None = None
    mechanics: tuple[str, ...] = ()

    def conditions(self) -> tuple[tuple[str, Comparison, Any], ...]:
        """(stored field, comparison, bound) of every condition an event must meet."""
        found: list[tuple[str, Comparison, Any]] = []
        if self.start is not None:
            found.append(("ts", ">=", self.start))
        if self.end is not None:
            found.append(("ts", "<", self.end))
        if self.mechanics:
            found.append(("mechanic", "in", self.mechanics))
        return tuple(found)

    def admitting(self) -> Callable[[Any], bool]:
        """A test of whether an event (anything with the stored fields as attributes) is in
        the window."""
        conditions = self.conditions()

        def admits(event: Any) -> bool:
            return all(
                _TESTS[comparison](getattr(event, field), bound)
                for field, comparison, bound in conditions
            )

        return admits
