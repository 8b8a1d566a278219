"""Delivering the outbox: the workers take due deliveries one at a time and POST them.

A delivery is taken with a lease, as audits are (`service.audits.jobs`): a conditional UPDATE
(with `SKIP LOCKED` on PostgreSQL), so two workers never send it at once, and a worker that
dies mid-attempt only delays it until its lease expires. Its state (attempts, when the next is
due) lives in its row, so a restart loses nothing. Each attempt is recorded; a failed one is
retried after exponential backoff with full jitter (a wait drawn uniformly below
base × 2^(attempt−1), capped), until the attempts run out. Only a 2xx answer is success;
redirects are not followed (their target was never checked).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.settings import Settings
from service.storage.db import transaction
from service.storage.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from service.webhooks import signing
from service.webhooks.addresses import RefusedTarget, Target, resolve

log = logging.getLogger("retention_audit.webhooks")

PENDING, DELIVERING, SUCCEEDED, FAILED = "pending", "delivering", "succeeded", "failed"
STATUSES = (PENDING, DELIVERING, SUCCEEDED, FAILED)
# What of a receiver's refusal is kept with the attempt.
MAX_ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How deliveries are made (from the `RETENTION_AUDIT_WEBHOOK_*` settings)."""

    allow_private: bool = False
    timeout_s: float = 10.0
    retry_base_s: float = 30.0
    retry_max_s: float = 3600.0
    max_attempts: int = 10

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            allow_private=settings.webhook_allow_private,
            timeout_s=settings.webhook_timeout_s,
            retry_base_s=settings.webhook_retry_base_s,
            retry_max_s=settings.webhook_retry_max_s,
            max_attempts=settings.webhook_max_attempts,
        )

    @property
    def lease_s(self) -> float:
        """Long enough for an attempt's connection and answer (each within the timeout)."""
        return 3 * self.timeout_s

    def backoff_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """The wait after failed attempt `attempt` (1-based): full jitter below the cap."""
        ceiling = min(self.retry_max_s, self.retry_base_s * 2.0 ** (attempt - 1))
        return (rng or random).uniform(0.0, ceiling)


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: int
    attempt: int
    url: str
    secret: str
    message_id: str
    body: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _claimable(now: datetime) -> Any:
    return or_(
        (WebhookDelivery.status == PENDING) & (WebhookDelivery.next_attempt_at <= now),
        (WebhookDelivery.status == DELIVERING) & (WebhookDelivery.lease_expires_at < now),
    )


def claim(session: Session, *, worker: str, lease_s: float, max_attempts: int) -> Claimed | None:
    """Take the delivery that has been due longest (or whose worker's lease expired); one
    whose workers died during its last allowed attempt is given up instead."""
    while True:
        now = datetime.now(UTC)
        query = (
            select(WebhookDelivery.id)
            .where(_claimable(now))
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(1)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        delivery_id = session.scalar(query)
        if delivery_id is None:
            return None
        taken = session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, _claimable(now))
            .values(
                status=DELIVERING,
                lease_owner=worker,
                lease_expires_at=now + timedelta(seconds=lease_s),
                attempts=WebhookDelivery.attempts + 1,
            )
            .returning(WebhookDelivery.attempts)
        ).first()
        if taken is None:  # another worker took it first
            continue
        if taken.attempts > max_attempts:
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id)
                .values(status=FAILED, finished_at=now, lease_owner=None, lease_expires_at=None)
            )
            continue
        row = session.execute(
            select(
                WebhookEndpoint.url,
                WebhookEndpoint.secret,
                WebhookMessage.id,
                WebhookMessage.body,
            )
            .select_from(WebhookDelivery)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
            .where(WebhookDelivery.id == delivery_id)
        ).one()
        return Claimed(delivery_id, taken.attempts, row[0], row[1], row[2], row[3].encode())


def _pinned_request(target: Target, claimed: Claimed, timestamp: int) -> httpx.Request:
    """The POST, sent to the checked address itself (the name is not resolved again), with
    the URL's host as `Host` and, over TLS, as the name sent and verified."""
    address = target.address
    literal = f"[{address}]" if address.version == 6 else str(address)
    path = target.url.path or "/"
    if target.url.query:
        path += "?" + target.url.query
    url = f"{target.url.scheme}://{literal}:{target.port}{path}"
    headers = {
        "host": target.url.netloc,
        "user-agent": "retention-audit-webhooks",
        **signing.headers(claimed.secret, claimed.message_id, timestamp, claimed.body),
    }
    return httpx.Request(
        "POST", url, headers=headers, content=claimed.body, extensions={"sni_hostname": target.host}
    )


def attempt(claimed: Claimed, policy: DeliveryPolicy) -> Outcome:
    """POST the message once; what happened (an error is recorded, never raised)."""
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    status_code: int | None = None
    error: str | None = None
    try:
        target = resolve(claimed.url, allow_private=policy.allow_private)
        request = _pinned_request(target, claimed, int(started_at.timestamp()))
        with httpx.Client(
            timeout=policy.timeout_s, follow_redirects=False, trust_env=False
        ) as http:
            response = http.send(request)
        status_code = response.status_code
        if response.is_redirect:
            error = "redirects are not followed"
        elif not response.is_success:
            error = response.text[:MAX_ERROR_CHARS] or response.reason_phrase
    except RefusedTarget as exc:
        error = f"refused: {exc.detail}"
    except Exception as exc:  # whatever the receiver or the network did, it is this attempt's
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
    duration_ms = round((time.perf_counter() - clock) * 1000)
    return Outcome(started_at, duration_ms, status_code, error)


def record(
    session: Session, claimed: Claimed, outcome: Outcome, *, worker: str, policy: DeliveryPolicy
) -> str | None:
    """Store the attempt and the delivery's next state; None when the lease was lost."""
    now = datetime.now(UTC)
    values: dict[str, Any] = {"lease_owner": None, "lease_expires_at": None}
    if outcome.succeeded:
        values.update(status=SUCCEEDED, finished_at=now)
    elif claimed.attempt >= policy.max_attempts:
        values.update(status=FAILED, finished_at=now)
    else:
        wait = timedelta(seconds=policy.backoff_s(claimed.attempt))
        values.update(status=PENDING, next_attempt_at=now + wait)
    held = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == claimed.delivery_id,
            WebhookDelivery.lease_owner == worker,
            WebhookDelivery.status == DELIVERING,
        )
        .values(**values)
        .returning(WebhookDelivery.id)
    ).first()
    if held is None:
        return None
    session.add(
        WebhookAttempt(
            delivery_id=claimed.delivery_id,
            number=claimed.attempt,
            started_at=outcome.started_at,
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            error=outcome.error,
        )
    )
    status: str = values["status"]
    return status


def deliver_one(factory: sessionmaker[Session], *, worker: str, policy: DeliveryPolicy) -> bool:
    """Make one due delivery's next attempt; False when none is due."""
    with transaction(factory) as session:
        claimed = claim(
            session, worker=worker, lease_s=policy.lease_s, max_attempts=policy.max_attempts
        )
    if claimed is None:
        return False
    outcome = attempt(claimed, policy)
    with transaction(factory) as session:
        status = record(session, claimed, outcome, worker=worker, policy=policy)
    log.info(
        "webhook %s delivery %d attempt %d: %s (%s)",
        claimed.message_id,
        claimed.delivery_id,
        claimed.attempt,
        status or "lease lost",
        outcome.status_code if outcome.error is None else outcome.error,
    )
    return True


def deliver_due(
    factory: sessionmaker[Session], *, worker: str, policy: DeliveryPolicy, most: int = 100
) -> int:
    """Attempt up to `most` due deliveries, one after another; how many were attempted."""
    done = 0
    while done < most and deliver_one(factory, worker=worker, policy=policy):
        done += 1
    return done
