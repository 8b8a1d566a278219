"""An audit's scope against the events it read: an audit over nothing never passes.

An audit whose scope (its mechanics and window) matched no event ends `empty`, with a reason
naming that scope, instead of a report with no findings: no report, no place in the chain, and
the offline CLI exits with its own code. A scope that matched some of the mechanics it names is
audited over those; the others are listed in the report's window as `unmatched` (events may
still arrive for them, so a request naming them cannot be refused when it is made), and the
offline gate does not pass such a run.
"""

from __future__ import annotations

from service.storage.event_window import EventWindow


class NothingToAudit(Exception):
    """The audit's scope matched no event; `reason` names the scope."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def describe(window: EventWindow) -> str:
    """The scope in words: its mechanics and its window."""
    mechanics = (
        "mechanics " + ", ".join(repr(m) for m in window.mechanics)
        if window.mechanics
        else "all mechanics"
    )
    if window.start is None and window.end is None:
        span = "all time"
    else:
        start = "the start" if window.start is None else window.start.isoformat()
        end = "now" if window.end is None else window.end.isoformat()
        span = f"from {start} to {end}"
    return f"{mechanics}, {span}"


def unmatched_mechanics(window: EventWindow, audited: tuple[str, ...], events: int) -> list[str]:
    """The mechanics the scope names that no event read matched (sorted); raises
    `NothingToAudit` when no event matched at all."""
    if events == 0:
        raise NothingToAudit(f"no events matched the audit's scope ({describe(window)})")
    return sorted(set(window.mechanics) - set(audited))
