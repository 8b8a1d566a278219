"""An audit's scope against the events it read: an audit over nothing never passes.

An audit whose scope (its mechanics and window) matched no event, or names a mechanic that
matched none, ends `empty` with a reason naming the scope and every mechanic that matched
nothing, instead of a report that looks like a pass: no report, no place in the chain, and the
offline CLI exits with its own code. A mechanic named by mistake (a typo) must not let the
audit of the others look complete; events may still arrive for it, so the request is not
refused when it is made, and a later audit over it can succeed.
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


def require_matches(window: EventWindow, audited: tuple[str, ...], events: int) -> None:
    """Raises `NothingToAudit` when no event matched the scope, or some mechanic it names
    matched none (`audited`: the mechanics of the events read)."""
    if events == 0:
        raise NothingToAudit(f"no events matched the audit's scope ({describe(window)})")
    unmatched = sorted(set(window.mechanics) - set(audited))
    if unmatched:
        names = ", ".join(repr(m) for m in unmatched)
        raise NothingToAudit(
            f"no events matched mechanic(s) {names} of the audit's scope ({describe(window)})"
        )
