"""The bibliography as data: every cited work by its key, and its citation.

Each `Reference` gives a full citation and, in `shows`, one or two sentences on what the work
reports — not what this project uses it for. Where a detail (a page, a chapter, a DOI) could not
be checked against the work or its abstract, the entry says "unverified" instead of guessing.
Thresholds that this project chose itself are not attributed to any of these works; the decision
table and the code comments say "threshold chosen by us" where that is the truth.

    cite("braverman-shaffer-2012")
    # "Braverman J, Shaffer HJ 2012. How do gamblers start gambling: ... Eur. J. Public
    #  Health 22:273–278 (online 2010). doi:10.1093/eurpub/ckp232: k-means clustering ..."
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from models.references.behaviour import BEHAVIOUR
from models.references.computation import COMPUTATION
from models.references.learning import LEARNING
from models.references.reference import Reference
from models.references.statistics import STATISTICS

_ENTRIES: tuple[Reference, ...] = (*LEARNING, *BEHAVIOUR, *STATISTICS, *COMPUTATION)

REFERENCES: Mapping[str, Reference] = MappingProxyType({r.key: r for r in _ENTRIES})


def cite(key: str) -> str:
    """The citation and what the work shows: "Authors Year. Title. Venue: shows".

    Raises KeyError for an unknown key, so a mistyped key fails loudly instead of citing
    nothing.
    """
    ref = REFERENCES[key]
    return f"{ref.citation}: {ref.shows}"
