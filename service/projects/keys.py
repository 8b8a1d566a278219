"""API keys: generation, hashing and the scopes they grant."""

from __future__ import annotations

import hashlib
import secrets
from enum import StrEnum

KEY_PREFIX = "ra_"


class Scope(StrEnum):
    INGEST = "ingest"  # post events (safe to embed in a client app, like an analytics write key)
    READ = "read"  # read stats, audits, reports, per-user results
    MANAGE = "manage"  # mappings, more keys, user erasure, audits


DEFAULT_SCOPES = (Scope.INGEST, Scope.READ, Scope.MANAGE)


def new_key() -> str:
    """A fresh key: 192 random bits, URL-safe."""
    return KEY_PREFIX + secrets.token_urlsafe(24)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_scopes(text: str) -> frozenset[Scope]:
    return frozenset(Scope(part) for part in text.split(",") if part)


def format_scopes(scopes: frozenset[Scope] | tuple[Scope, ...]) -> str:
    return ",".join(sorted(str(scope) for scope in scopes))
