"""One error base class carrying its status code; one handler renders them all.

Body: `{"error": ClassName, "detail": …}` (plus whatever `extra` the error carries). Anything
else raised while serving a request is answered as `InternalError` by
`service.api.middleware.RequestGuard`.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    """Base of every error the API answers with on purpose."""

    status_code: ClassVar[int] = 500

    def __init__(
        self,
        detail: Any,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "detail": self.detail, **self.extra}


class BadRequest(AppError):
    status_code = 400


class MalformedBody(BadRequest):
    """The body could not be decoded or parsed (bad gzip, bad JSON, bad NDJSON line)."""


class Unauthorized(AppError):
    status_code = 401

    def __init__(self, detail: Any = "a valid key is required") -> None:
        super().__init__(
            detail, headers={"WWW-Authenticate": 'Bearer, Basic realm="retention-audit"'}
        )


class Forbidden(AppError):
    status_code = 403


class NotFound(AppError):
    status_code = 404


class MethodNotAllowed(AppError):
    status_code = 405


class Conflict(AppError):
    status_code = 409


class PayloadTooLarge(AppError):
    status_code = 413


class InternalError(AppError):
    """A failure no handler foresaw (answered with the request id, logged with its traceback)."""

    status_code = 500


class InvalidInput(AppError):
    """Well-formed but unacceptable input (a configuration value, a filter)."""

    status_code = 422
