"""Rate limits (token buckets, per server process): ingestion per project, reads per key.

Both are off by default (rate 0). Ingestion: each event costs one token; a project's bucket
holds `ingest_burst_events` and refills at `ingest_rate_events_per_s`. A batch that finds too
few tokens is refused whole with 429 and a `Retry-After` saying when it would fit, which is
what every vendor SDK honours. Reads: each request to a route that needs the read scope costs
one token of its key's bucket, which holds `read_burst_requests` and refills at
`read_rate_per_s`. Buckets live in the process: with several workers each applies the limits
to the requests it serves.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

from service.errors import AppError
from service.settings import Settings


class RateLimited(AppError):
    status_code = 429

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(
            detail,
            headers={"Retry-After": str(retry_after_s)},
            extra={"retry_after": retry_after_s},
        )
        self.retry_after_s = retry_after_s


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """One token bucket per owner (a project, or a key), spending tokens of some `unit`."""

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        owner: str = "project",
        unit: str = "events",
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._owner = owner
        self._unit = unit
        self._buckets: dict[int, _Bucket] = {}
        self._lock = threading.Lock()

    def take(self, project_id: int, events: int) -> None:
        """Spend `events` tokens of the owner's bucket (`project_id`, or a key's id), or raise
        `RateLimited`.

        A batch larger than the bucket goes through once the bucket is full and leaves it in
        debt, so no batch is refused forever and the long-run rate still holds.
        """
        if self.rate <= 0 or events <= 0:
            return
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(project_id)
            if bucket is None:
                bucket = self._buckets[project_id] = _Bucket(float(self.burst), now)
            bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            needed = min(float(events), float(self.burst))
            if bucket.tokens < needed:
                wait = math.ceil((needed - bucket.tokens) / self.rate)
                raise RateLimited(
                    f"{self._owner} {project_id} exceeds {self.rate:g} {self._unit}/s;"
                    f" retry in {wait} s",
                    retry_after_s=max(1, wait),
                )
            bucket.tokens -= events


_create_lock = threading.Lock()


def _app_buckets(request: Request, name: str, make: Callable[[], TokenBuckets]) -> TokenBuckets:
    """The app's buckets called `name`, made by `make` on first use."""
    state = request.app.state
    buckets: TokenBuckets | None = getattr(state, name, None)
    if buckets is None:
        with _create_lock:
            buckets = getattr(state, name, None)
            if buckets is None:
                buckets = make()
                setattr(state, name, buckets)
    return buckets


def limiter(request: Request, settings: Settings) -> TokenBuckets:
    """The app's per-project buckets for ingestion, made on first use from its settings."""
    return _app_buckets(
        request,
        "ingest_buckets",
        lambda: TokenBuckets(
            rate=settings.ingest_rate_events_per_s, burst=settings.ingest_burst_events
        ),
    )


def read_limiter(request: Request, settings: Settings) -> TokenBuckets:
    """The app's per-key buckets for reads, made on first use from its settings."""
    return _app_buckets(
        request,
        "read_buckets",
        lambda: TokenBuckets(
            rate=settings.read_rate_per_s,
            burst=settings.read_burst_requests,
            owner="key",
            unit="requests",
        ),
    )
