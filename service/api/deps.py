"""Dependencies shared by the routes: settings, the request's transaction, the caller."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from sqlalchemy.orm import Session

from service.errors import Forbidden, Unauthorized
from service.ingestion.ratelimit import read_limiter
from service.projects.keys import Scope
from service.projects.projects import Principal, principal_for_key
from service.settings import Settings
from service.storage.db import transaction
from service.text import storable


def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
# Keys are 27 characters; anything much longer is not one and is not looked up.
MAX_KEY_LENGTH = 256


def get_session(request: Request) -> Iterator[Session]:
    """The request's one transaction. It commits when the route returns and before the
    response is sent (scope="function"), so whatever a response acknowledges is durable."""
    with transaction(request.app.state.sessionmaker) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


# The key as the OpenAPI schema declares it (interactive docs offer to send it); `presented_key`
# reads it, so this declaration refuses nothing itself.
declared_key = HTTPBearer(
    auto_error=False,
    scheme_name="key",
    description="A project key (its scopes decide the routes it may call), or the admin key on "
    "the admin routes. HTTP Basic with the key as user name is read too.",
)
KEYED = [Depends(declared_key)]


def presented_key(request: Request) -> str | None:
    """The key from `Authorization: Bearer KEY` or HTTP Basic with the key as user name."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    credentials = credentials.strip()
    if scheme == "bearer":
        return credentials or None
    if scheme == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, _password = decoded.partition(":")
        return user or None
    return None


def authenticate(session: Session, key: str | None, scope: Scope) -> Principal:
    if not key:
        raise Unauthorized("a project key is required (Authorization: Bearer KEY)")
    if not _plausible(key):
        raise Unauthorized("the key is not valid")
    principal = principal_for_key(session, key)
    if principal is None:
        raise Unauthorized("the key is not valid")
    if scope not in principal.scopes:
        raise Forbidden(f"the key lacks the {scope!s} scope")
    return principal


def _plausible(key: str) -> bool:
    """Whether `key` could be a key at all: short, NUL-free text that UTF-8 can encode (a
    key read from a vendor's body may be anything)."""
    return len(key) <= MAX_KEY_LENGTH and storable(key)


def _requires(scope: Scope) -> Any:
    def dependency(request: Request, session: SessionDep) -> Principal:
        return authenticate(session, presented_key(request), scope)

    return Depends(dependency)


def _reads(request: Request, session: SessionDep, settings: SettingsDep) -> Principal:
    """The read scope, within the key's read rate (`RETENTION_AUDIT_READ_RATE_PER_S`)."""
    principal = authenticate(session, presented_key(request), Scope.READ)
    read_limiter(request, settings).take(principal.key_id, 1)
    return principal


Ingestor = Annotated[Principal, _requires(Scope.INGEST)]
Reader = Annotated[Principal, Depends(_reads)]
Manager = Annotated[Principal, _requires(Scope.MANAGE)]


def require_admin(request: Request, settings: SettingsDep) -> None:
    """Admin endpoints answer only to `RETENTION_AUDIT_ADMIN_KEY` (closed when it is unset)."""
    key = presented_key(request)
    if not settings.admin_key:
        raise Forbidden("admin endpoints are disabled: set RETENTION_AUDIT_ADMIN_KEY")
    if not key or not hmac.compare_digest(key.encode(), settings.admin_key.encode()):
        raise Unauthorized("the admin key is required")


Admin = Annotated[None, Depends(require_admin)]


def own_project(principal: Principal, project_id: int) -> None:
    """A key acts only on its own project."""
    if principal.project_id != project_id:
        raise Forbidden(f"this key does not belong to project {project_id}")
