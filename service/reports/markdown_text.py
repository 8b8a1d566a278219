"""Event-derived text made inert in Markdown: mechanic names and other strings that come from
events (which an ingest key, safe to embed in a client app, can send) go into reports and
pull-request comments, where they must read as text and nothing else."""

from __future__ import annotations

from typing import Any

# every ASCII punctuation character CommonMark lets a backslash escape that can start markup
MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()<>#+-.!|~&")


def md_text(value: Any) -> str:
    """An event-derived string (a mechanic name, a user id) as inert Markdown text: its
    markup characters escaped and line breaks made spaces, so it can neither format a
    comment, link elsewhere, nor break out of a table cell or list item."""
    text = " ".join(str(value).splitlines())
    return "".join("\\" + c if c in MARKDOWN_SPECIAL else c for c in text)
