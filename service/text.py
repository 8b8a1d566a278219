"""Text a database can store and compare as sent: no NUL character (no PostgreSQL text column
or JSON value holds one) and no lone surrogate (UTF-8 cannot encode it)."""

from __future__ import annotations


def storable(text: str) -> bool:
    """Whether `text` can be stored and compared as it is."""
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
