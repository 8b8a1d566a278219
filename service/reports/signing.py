"""Signatures of the report chain: HMAC-SHA256 with a server key, so that a chain rewritten by
someone who can write to the database (every digest recomputed) no longer verifies.

What is signed is a report's *chain entry*, as the canonical JSON array

    ["retention-audit/report/v1", project_id, sequence, audit_id, digest, previous_digest,
     rows_digest]

(orjson, no whitespace; `previous_digest` and `rows_digest` may be null). The report's digest
covers its whole body, `rows_digest` its per-user rows (`service.reports.rows_digest`), and the
project, sequence and audit id pin the entry to its place, so an entry cannot be replayed into
another project or position. The stored signature is `v1,` and the base64 of the HMAC (a
version prefix, so the scheme can change without ambiguity), with the id of the key that made
it stored beside it.

Keys come from `RETENTION_AUDIT_REPORT_KEYS`: `id:secret` pairs separated by commas. The first
signs; every one listed verifies a signature that names its id, so a key is rotated by listing
the new key first and the old one after it for as long as the reports it signed should verify.
A key removed from the list makes its reports fail verification ("unknown_key").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

import orjson

SCHEME = "v1"
_CONTEXT = "retention-audit/report/v1"
_KEY_ID = re.compile(r"[A-Za-z0-9_.-]{1,32}")
# a secret of 32 characters or more (e.g. `secrets.token_urlsafe(32)`, 43 characters)
MIN_SECRET_CHARS = 32


@dataclass(frozen=True, slots=True)
class ReportKey:
    key_id: str
    secret: bytes

    def __repr__(self) -> str:  # never print a secret
        return f"ReportKey({self.key_id!r})"


@dataclass(frozen=True, slots=True)
class ReportKeys:
    """The configured keys: the first signs, all verify."""

    keys: tuple[ReportKey, ...]

    @classmethod
    def parse(cls, text: str) -> ReportKeys:
        """`id:secret[,id:secret…]`; ValueError naming what is wrong (never the secret)."""
        keys: list[ReportKey] = []
        for position, item in enumerate(
            (part.strip() for part in text.split(",") if part.strip()), start=1
        ):
            key_id, colon, secret = item.partition(":")
            if not colon or not _KEY_ID.fullmatch(key_id):
                raise ValueError(
                    f"report key {position}: must be id:secret, the id 1-32 of A-Z a-z 0-9 _ . -"
                )
            if len(secret) < MIN_SECRET_CHARS or any(c.isspace() for c in secret):
                raise ValueError(
                    f"report key {key_id!r}: its secret must be {MIN_SECRET_CHARS} or more "
                    "characters without spaces"
                )
            if any(k.key_id == key_id for k in keys):
                raise ValueError(f"report key {key_id!r} is listed twice")
            keys.append(ReportKey(key_id, secret.encode()))
        return cls(tuple(keys))

    @property
    def signer(self) -> ReportKey | None:
        return self.keys[0] if self.keys else None

    def get(self, key_id: str) -> ReportKey | None:
        return next((k for k in self.keys if k.key_id == key_id), None)


@dataclass(frozen=True, slots=True)
class ChainEntry:
    """What a report's signature covers."""

    project_id: int
    sequence: int
    audit_id: str
    digest: str
    previous_digest: str | None
    rows_digest: str | None

    def signed_bytes(self) -> bytes:
        return orjson.dumps(
            [
                _CONTEXT,
                self.project_id,
                self.sequence,
                self.audit_id,
                self.digest,
                self.previous_digest,
                self.rows_digest,
            ]
        )


def sign(entry: ChainEntry, key: ReportKey) -> str:
    """The signature string of `entry` under `key`: `v1,<base64 of HMAC-SHA256>`."""
    mac = hmac.new(key.secret, entry.signed_bytes(), hashlib.sha256).digest()
    return f"{SCHEME}," + base64.b64encode(mac).decode()


def signature_matches(entry: ChainEntry, key: ReportKey, signature: str) -> bool:
    """Whether `signature` is `key`'s signature of `entry` (compared in constant time)."""
    return hmac.compare_digest(sign(entry, key).encode(), signature.encode())
