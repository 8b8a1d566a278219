"""What every request passes through before its route: a request id, the URL and JSON-body
checks, and the last-resort answer to an unexpected error.

- Every response carries `X-Request-ID`: the caller's own, when it is a short token, else a
  fresh one.
- A URL holding a NUL (`%00`) is refused (400): no stored name or id may contain one.
- A JSON body that the framework parses for a route (audits, projects, keys, mappings) is
  first read by the one JSON parser, with its limits (`service.ingestion.payloads.loads`), and
  refused (400, or 422 for text no column can store) before the route sees it. Ingestion
  routes read their own bodies through the same parser and are not checked twice.
- Any exception no handler answered becomes a JSON 500 `{"error": "InternalError", "detail",
  "request_id"}`, logged once with its traceback and the request id.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Collection
from email.message import Message

import orjson
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from service.api.responses import json_answer
from service.errors import (
    AppError,
    BadRequest,
    InternalError,
    InvalidInput,
    MalformedBody,
    PayloadTooLarge,
)
from service.ingestion.events import unstorable
from service.ingestion.payloads import loads

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def request_id_of(scope: Scope) -> str:
    """The id of the request being served (the same one its response's header carries)."""
    state = scope.get("state") or {}
    return str(state.get("request_id", ""))


class RequestGuard:
    """Pure ASGI middleware; `own_body_paths` are the routes that parse their bodies
    themselves (ingestion)."""

    def __init__(
        self, app: ASGIApp, *, own_body_paths: Collection[str], max_body_bytes: int
    ) -> None:
        self.app = app
        self.own_body_paths = frozenset(own_body_paths)
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: AsgiMessage) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            refusal = _url_refusal(scope)
            if refusal is None and self._parses_json(scope):
                try:
                    body = await self._body(receive)
                except PayloadTooLarge as exc:
                    body, refusal = b"", exc
                else:
                    if body is None:  # the client went away
                        return
                    refusal = _json_refusal(body)
                    receive = _replay(body, receive)
            if refusal is not None:
                await json_answer(refusal.status_code, refusal.body(), refusal.headers)(
                    scope, receive, send_with_id
                )
                return
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception(
                "request %s (%s %s) failed", request_id, scope.get("method"), scope.get("path")
            )
            if started:  # too late for another answer; the client sees the stream end
                return
            failure = InternalError(
                "the service failed unexpectedly; quote the request id when reporting it",
                extra={"request_id": request_id},
            )
            await json_answer(500, failure.body())(scope, receive, send_with_id)

    def _parses_json(self, scope: Scope) -> bool:
        if scope.get("method") not in _BODY_METHODS or scope.get("path") in self.own_body_paths:
            return False
        content_type = _header(scope, b"content-type")
        if not content_type:
            return False
        message = Message()
        message["content-type"] = content_type
        subtype = message.get_content_subtype()
        return message.get_content_maintype() == "application" and (
            subtype == "json" or subtype.endswith("+json")
        )

    async def _body(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise PayloadTooLarge(f"body exceeds the limit of {self.max_body_bytes} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _request_id(scope: Scope) -> str:
    given = _header(scope, b"x-request-id")
    if given and _SANE_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _url_refusal(scope: Scope) -> AppError | None:
    if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b""):
        return BadRequest("the URL may not contain a NUL character (%00)")
    return None


def _json_refusal(body: bytes) -> AppError | None:
    """Why the body cannot go to its route, or None (an empty body is the route's concern)."""
    if not body.strip():
        return None
    try:
        document = loads(body)
    except orjson.JSONDecodeError as exc:
        return MalformedBody(f"body is not valid JSON: {exc}")
    bad = unstorable(document)
    if bad is not None:
        path, reason = bad
        return InvalidInput(f"{path}: {reason}")
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the route the body already read, then the client's messages."""
    given = False

    async def replayed() -> AsgiMessage:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
