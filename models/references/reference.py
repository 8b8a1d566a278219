"""One cited work: its citation, its author-year label and what the work actually shows."""

from __future__ import annotations

import re
from dataclasses import dataclass

# lower-case words joined by hyphens, ending in the year: "braverman-shaffer-2012"
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*-(?:1[89]|20)[0-9]{2}$")
_LABEL = re.compile(r"^(.*?\b(?:1[89]|20)[0-9]{2})\. ")


@dataclass(frozen=True)
class Reference:
    """One cited work.

    key: short stable identifier ("author-author-year"), lower case and hyphens
    citation: authors, year, title, venue with volume:pages (or publisher / preprint server),
        DOI where known
    shows: what the work reports, in one or two sentences
    """

    key: str
    citation: str
    shows: str

    @property
    def short(self) -> str:
        """The author-year label: the citation up to its year."""
        match = _LABEL.match(self.citation)
        return match.group(1) if match else self.citation
