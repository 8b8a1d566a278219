"""Delivering the outbox: the workers take due deliveries one at a time and POST them.

A delivery is taken with a lease, as audits are (`service.audits.jobs`): a conditional UPDATE
(with `SKIP LOCKED` on PostgreSQL), so two workers never send it at once, and a worker that
dies mid-attempt only delays it until its lease expires (its attempt, recorded as in progress
when it started, is then marked lost). Its state (attempts, when the next is
due) lives in its row, so a restart loses nothing. Each attempt is recorded; a failed one is
retried after exponential backoff with full jitter (a wait drawn uniformly below
base × 2^(attempt−1), capped), until the attempts run out. Only a 2xx answer is success;
redirects are not followed (their target was never checked). An attempt, from the connection
to the last byte read of the answer, ends within the timeout however slowly the receiver
answers, well within the lease; only the start of an answer is read.
"""

from __future__ import annotations

import logging
import random
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpcore
import httpx
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.settings import Settings
from service.storage.db import transaction
from service.storage.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookMessage
from service.webhooks import signing
from service.webhooks.addresses import RefusedTarget, Target, resolve

log = logging.getLogger("retention_audit.webhooks")

PENDING, DELIVERING, SUCCEEDED, FAILED = "pending", "delivering", "succeeded", "failed"
STATUSES = (PENDING, DELIVERING, SUCCEEDED, FAILED)
# An attempt is recorded when it starts, as in progress; one whose worker died before it
# ended is marked lost when the delivery is taken again.
IN_PROGRESS = "in progress"
LOST = "lost: the worker stopped before the attempt ended"
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
    retention_days: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            allow_private=settings.webhook_allow_private,
            timeout_s=settings.webhook_timeout_s,
            retry_base_s=settings.webhook_retry_base_s,
            retry_max_s=settings.webhook_retry_max_s,
            max_attempts=settings.webhook_max_attempts,
            retention_days=settings.webhook_retention_days,
        )

    @property
    def lease_s(self) -> float:
        """Well beyond an attempt (all of it within the timeout), with room for resolving the
        receiver's name and recording the outcome."""
        return 3 * self.timeout_s + 30.0

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
        found = session.execute(query.add_columns(WebhookDelivery.status)).first()
        if found is None:
            return None
        delivery_id, was = found
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
        if was == DELIVERING:  # its worker's lease expired: that attempt was lost
            session.execute(
                update(WebhookAttempt)
                .where(
                    WebhookAttempt.delivery_id == delivery_id,
                    WebhookAttempt.number == taken.attempts - 1,
                    WebhookAttempt.error == IN_PROGRESS,
                )
                .values(error=LOST)
            )
        if taken.attempts > max_attempts:
            session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id)
                .values(status=FAILED, finished_at=now, lease_owner=None, lease_expires_at=None)
            )
            continue
        session.add(
            WebhookAttempt(
                delivery_id=delivery_id, number=taken.attempts, started_at=now, duration_ms=0,
                status_code=None, error=IN_PROGRESS,
            )
        )  # fmt: skip
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


def _within(deadline: float, timeout: float | None, expired: type[Exception]) -> float:
    """An operation's timeout cut to what is left before the attempt's deadline."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the attempt's time is up")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the attempt's deadline, so that a
    receiver answering a byte at a time cannot hold the attempt past it."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream, self._deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within(self._deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _within(self._deadline, timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, left), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, deadline: float) -> None:
        self._backend, self._deadline = httpcore.SyncBackend(), deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _within(self._deadline, timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_tcp(host, port, left, local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks are not sent over Unix sockets")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _post(target: Target, claimed: Claimed, timestamp: int, deadline: float) -> tuple[int, str]:
    """POST the message to the checked address itself (the name is not resolved again), with
    the URL's host as `Host` and, over TLS, as the name sent and verified; the status code and
    the start of the answer (at most MAX_ERROR_CHARS bytes are read). Every step, from the
    connection to the last byte read, ends by `deadline` (`time.monotonic()`)."""
    address = target.address
    literal = f"[{address}]" if address.version == 6 else str(address)
    path = target.url.path or "/"
    if target.url.query:
        path += "?" + target.url.query
    url = f"{target.url.scheme}://{literal}:{target.port}{path}"
    headers = {
        "host": target.url.netloc,
        "user-agent": "retention-audit-webhooks",
        "content-type": "application/json",
        **signing.headers(claimed.secret, claimed.message_id, timestamp, claimed.body),
    }
    left = max(0.0, deadline - time.monotonic())
    extensions = {
        "sni_hostname": target.host,
        "timeout": {"connect": left, "read": left, "write": left, "pool": left},
    }
    with (
        httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), network_backend=_DeadlineBackend(deadline)
        ) as pool,
        pool.stream(
            "POST", url, headers=list(headers.items()), content=claimed.body, extensions=extensions
        ) as response,
    ):
        kept = b""
        for chunk in response.iter_stream():
            kept += chunk
            if len(kept) >= MAX_ERROR_CHARS or time.monotonic() >= deadline:
                break
        if not kept:
            kept = response.extensions.get("reason_phrase", b"")
        return response.status, kept[:MAX_ERROR_CHARS].decode("utf-8", "replace")


def attempt(claimed: Claimed, policy: DeliveryPolicy) -> Outcome:
    """POST the message once, within `policy.timeout_s` in all; what happened (an error is
    recorded, never raised)."""
    started_at = datetime.now(UTC)
    clock = time.perf_counter()
    deadline = time.monotonic() + policy.timeout_s
    status_code: int | None = None
    error: str | None = None
    try:
        target = resolve(claimed.url, allow_private=policy.allow_private)
        status_code, answer = _post(target, claimed, int(started_at.timestamp()), deadline)
        if 300 <= status_code < 400:
            error = "redirects are not followed"
        elif not 200 <= status_code < 300:
            error = answer or str(status_code)
    except RefusedTarget as exc:
        error = f"refused: {exc.detail}"
    except httpcore.TimeoutException:
        error = f"timeout: no complete answer within {policy.timeout_s:g} s"
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
    session.execute(  # what happened, even when the lease was lost meanwhile
        update(WebhookAttempt)
        .where(
            WebhookAttempt.delivery_id == claimed.delivery_id,
            WebhookAttempt.number == claimed.attempt,
        )
        .values(
            started_at=outcome.started_at,
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            error=outcome.error,
        )
    )
    if held is None:
        return None
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
    factory: sessionmaker[Session],
    *,
    worker: str,
    policy: DeliveryPolicy,
    most: int = 100,
    budget_s: float = 60.0,
) -> int:
    """Attempt up to `most` due deliveries, one after another, starting none after `budget_s`;
    how many were attempted."""
    done = 0
    until = time.monotonic() + budget_s
    while (
        done < most
        and time.monotonic() < until
        and deliver_one(factory, worker=worker, policy=policy)
    ):
        done += 1
    return done


def prune(session: Session, *, before: datetime, most: int = 1000) -> int:
    """Delete up to `most` messages announced before `before` whose deliveries have all ended
    (succeeded or failed), with their deliveries and attempts; how many messages."""
    unfinished = select(WebhookDelivery.message_id).where(
        WebhookDelivery.status.in_((PENDING, DELIVERING))
    )
    ids = list(
        session.scalars(
            select(WebhookMessage.id)
            .where(WebhookMessage.created_at < before, WebhookMessage.id.not_in(unfinished))
            .limit(most)
        )
    )
    if ids:
        deliveries = select(WebhookDelivery.id).where(WebhookDelivery.message_id.in_(ids))
        session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
        session.execute(delete(WebhookDelivery).where(WebhookDelivery.message_id.in_(ids)))
        session.execute(delete(WebhookMessage).where(WebhookMessage.id.in_(ids)))
    return len(ids)


def prune_expired(factory: sessionmaker[Session], *, policy: DeliveryPolicy) -> int:
    """Prune the messages older than `policy.retention_days` whose deliveries have ended."""
    before = datetime.now(UTC) - timedelta(days=policy.retention_days)
    with transaction(factory) as session:
        return prune(session, before=before)
