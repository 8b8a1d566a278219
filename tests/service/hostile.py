"""What the hostile-input tests share: the reasons events are rejected for, a log that must end
without a traceback, and checked answers."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import Engine, func, select

from service.storage.tables import Event

UNREADABLE = "text is not valid UTF-8 (invalid bytes or a lone surrogate)"
NON_FINITE = "numbers must be finite"
NUL = "text may not contain a NUL character"
TOO_DEEP = "values may nest at most 64 levels deep"

# A JSON string holding a lone high surrogate: valid JSON syntax, not valid Unicode text.
SURROGATE = b'"\\ud800"'


def answered(response: Any, status: int) -> Any:
    """The response, checked: the expected status, never a 500, a request id."""
    assert response.status_code != 500, response.text
    assert response.status_code == status, response.text
    assert response.headers.get("x-request-id")
    return response


def native_count(engine: Engine, project_id: int) -> int:
    with engine.connect() as connection:
        found = connection.scalar(select(func.count()).where(Event.project_id == project_id))
    return int(found or 0)


def deep(depth: int) -> bytes:
    """A JSON value nested `depth` levels: [[[…]]]."""
    return b"[" * depth + b"]" * depth


def replace_marker(body: bytes, marker: str, raw: bytes) -> bytes:
    """`body` (JSON) with the string `"marker"` replaced by the raw JSON text `raw`."""
    quoted = orjson.dumps(marker)
    assert body.count(quoted) == 1
    return body.replace(quoted, raw)
