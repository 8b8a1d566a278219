"""Audit workers: claim queued audits and run them, one at a time per worker.

Beside its audits, each worker queues the audits of schedules whose slot has come
(`service.audits.schedules`) and makes the webhook deliveries that are due
(`service.webhooks.delivery`), each in its own side thread. `retention-audit worker` runs
this loop in its own process (several may run at once); `serve` on the SQLite default runs it
in a thread, so `make run` needs nothing else.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from service.audits import jobs, schedules
from service.audits.runner import run_claimed
from service.settings import Settings, get_settings
from service.storage.db import transaction
from service.webhooks.delivery import DeliveryPolicy, deliver_due, prune_expired

log = logging.getLogger("retention_audit.worker")

# How often a worker deletes webhook messages past their retention.
PRUNE_EVERY_S = 600.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def run_one(
    factory: sessionmaker[Session],
    *,
    worker: str,
    lease_s: float = jobs.DEFAULT_LEASE_S,
    processes: int = 1,
    scheduler: str | None = None,
) -> str | None:
    """Claim and run one audit; its final status, or None when nothing was queued."""
    with transaction(factory) as session:
        claim = jobs.claim(session, worker=worker, lease_s=lease_s)
    if claim is None:
        return None
    log.info("audit %s: attempt %d by %s", claim.audit_id, claim.attempt, worker)
    try:
        status = run_claimed(
            factory,
            claim,
            worker=worker,
            lease_s=lease_s,
            processes=processes,
            scheduler=scheduler,
        )
    except jobs.LeaseLost:
        log.warning("audit %s: lease lost; another worker has it", claim.audit_id)
        return None
    log.info("audit %s: %s", claim.audit_id, status)
    return status


def run_worker(
    factory: sessionmaker[Session],
    *,
    stop: threading.Event,
    worker: str | None = None,
    poll_s: float = 1.0,
    lease_s: float = jobs.DEFAULT_LEASE_S,
    processes: int = 1,
    settings: Settings | None = None,
    scheduler: str | None = None,
) -> None:
    """Run audits until `stop` is set, polling the queue when it is empty; meanwhile, in two
    side threads, queue the audits of due schedules and make due webhook deliveries (so that
    neither waits for a long audit, and a slow receiver never delays a schedule's slot), and
    in a third delete webhook messages past their retention."""
    name = worker or worker_name()
    settings = settings or get_settings()
    policy = DeliveryPolicy.from_settings(settings)
    limit = settings.max_queued_audits_per_project
    chores: dict[str, tuple[Callable[[], bool], float]] = {
        "schedules": (lambda: schedules.run_due(factory, queue_limit=limit) > 0, poll_s),
        "webhooks": (lambda: deliver_due(factory, worker=name, policy=policy) > 0, poll_s),
        "webhook-retention": (lambda: prune_expired(factory, policy=policy) > 0, PRUNE_EVERY_S),
    }
    sides = [
        threading.Thread(
            target=run_chore,
            kwargs={"chore": chore, "stop": stop, "worker": name, "poll_s": every_s},
            name=title,
            daemon=True,
        )
        for title, (chore, every_s) in chores.items()
    ]
    for side in sides:
        side.start()
    while not stop.is_set():
        try:
            ran = run_one(
                factory, worker=name, lease_s=lease_s, processes=processes, scheduler=scheduler
            )
        except Exception:
            log.exception("worker %s: unexpected error; continuing", name)
            ran = None
        if ran is None:
            stop.wait(poll_s)
    for side in sides:
        side.join(timeout=60)


def run_chore(
    chore: Callable[[], bool], *, stop: threading.Event, worker: str, poll_s: float
) -> None:
    """Do `chore` until `stop` is set, at once again while it finds work, else after `poll_s`."""
    while not stop.is_set():
        try:
            busy = chore()
        except Exception:
            log.exception("worker %s: unexpected error; continuing", worker)
            busy = False
        if not busy:
            stop.wait(poll_s)


class InProcessWorker:
    """A worker thread inside the API process (for the embedded SQLite default)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        poll_s: float = 0.5,
        processes: int = 1,
        settings: Settings | None = None,
        scheduler: str | None = None,
    ) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=run_worker,
            kwargs={
                "factory": factory,
                "stop": self._stop,
                "poll_s": poll_s,
                "processes": processes,
                "settings": settings,
                "scheduler": scheduler,
            },
            name="audit-worker",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
