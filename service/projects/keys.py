"""API keys: generation, hashing and the scopes they grant."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from enum import StrEnum

from service.errors import Forbidden

KEY_PREFIX = "ra_"


class Scope(StrEnum):
    INGEST = "ingest"  # post events (safe to embed in a client app, like an analytics write key)
    READ = "read"  # read stats, audits, reports, per-user results
    MANAGE = "manage"  # settings, mappings, more keys, user erasure, queueing audits


DEFAULT_SCOPES = (Scope.INGEST, Scope.READ, Scope.MANAGE)


def new_key() -> str:
    """A fresh key: 192 random bits, URL-safe."""
    return KEY_PREFIX + secrets.token_urlsafe(24)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_scopes(text: str) -> frozenset[Scope]:
    return frozenset(Scope(part) for part in text.split(",") if part)


def format_scopes(scopes: frozenset[Scope] | tuple[Scope, ...]) -> str:
    return ",".join(sorted({str(scope) for scope in scopes}))


def check_grantable(held: frozenset[Scope], granted: Iterable[Scope]) -> None:
    """A key may create keys only with scopes it holds itself: a manage key alone cannot make
    a read or ingest key. Raises `Forbidden` naming the scopes it lacks."""
    lacking = sorted(str(scope) for scope in set(granted) - held)
    if lacking:
        raise Forbidden(
            f"a key can grant only the scopes it holds; this one lacks {', '.join(lacking)}"
        )
