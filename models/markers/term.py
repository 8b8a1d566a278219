"""A glossary entry: what a figure means, its unit, how to read it, how to show it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Display = Literal["share", "duration", "count", "number", "flag", "text", "money"]


@dataclass(frozen=True, slots=True)
class Term:
    """definition: what the figure is, in a phrase; unit: what it is measured in; reading: how
    to read it; display: how to format it for people."""

    definition: str
    unit: str
    reading: str
    display: Display

    def as_dict(self) -> dict[str, str]:
        return {
            "definition": self.definition,
            "unit": self.unit,
            "reading": self.reading,
            "display": self.display,
        }


SHARE_USERS = "share of users, 0–1"
SHARE_RESPONSES = "share of responses, 0–1"
LOG_CHANGE = "log change (natural log of last ÷ first)"
LOG_LR = "natural-log likelihood ratio"


def entry(definition: str, unit: str, reading: str, display: Display = "number") -> Term:
    return Term(definition=definition, unit=unit, reading=reading, display=display)
