"""The refusals each group of routes can answer with, as the OpenAPI schema declares them.

Every refusal of the API's own routes has one body, `ErrorBody` (`service.errors`); the vendor
routes answer in their vendor's shapes, declared as JSON objects. A router lists the status
codes its routes can give; FastAPI's default 422 (its own validation body) is replaced by ours.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

WHY = {
    400: "Malformed body: not gzip, JSON or NDJSON as declared, or not an accepted shape.",
    401: "No key, or a key that is not valid.",
    403: "The key lacks the scope, or belongs to another project.",
    404: "No such resource in this project.",
    409: "The resource is not in a state that allows this (e.g. an audit without a report).",
    413: "The body is larger than the configured limit.",
    422: "A field is invalid: the body names which and why.",
    429: "Rate or queue limit reached; `Retry-After` says when to try again.",
    503: "Not ready (the database is not reachable or not migrated).",
}


class ErrorBody(BaseModel):
    """A refusal: the error's class name, what is wrong (text, or a list of fields and
    reasons), and anything the error adds (such as the rejected lines of a batch)."""

    model_config = ConfigDict(extra="allow")

    error: str
    detail: Any


# inline rather than as a model: FastAPI would file a model's schema under the route's own media
# type, and the report page's refusals are JSON, not HTML
_ERROR_CONTENT = {"application/json": {"schema": ErrorBody.model_json_schema()}}
# the vendors answer a refusal with a JSON object, and some (PostHog's) with plain text
_VENDOR_CONTENT = {
    "application/json": {"schema": {"type": "object", "additionalProperties": True}},
    "text/plain": {"schema": {"type": "string"}},
}


def refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of a router whose routes answer refusals with `ErrorBody`."""
    return {code: {"description": WHY[code], "content": _ERROR_CONTENT} for code in codes}


def vendor_refusals(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of the vendor routes, which answer refusals in their vendor's shape."""
    return {code: {"description": WHY[code], "content": _VENDOR_CONTENT} for code in codes}
