"""The bibliography as data: one entry per work (`Reference`), with what the work actually shows,
by key (`REFERENCES`), and the citation of a key (`cite`)."""

from models.references.catalogue import REFERENCES, cite
from models.references.reference import KEY_PATTERN, Reference

__all__ = ["KEY_PATTERN", "REFERENCES", "Reference", "cite"]
