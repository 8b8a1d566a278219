"""JSON responses rendered with orjson (large ingestion results, reports), and the one way a
refusal is answered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response


class OrjsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def json_answer(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON body with its status: a refusal's `{"error", "detail", …}`, or a vendor's answer."""
    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type="application/json"
    )
