"""A receiver that answers a byte at a time (a real socket server on loopback): an attempt ends
by its timeout however slowly it is answered, is recorded as a timeout, is sent once (another
worker cannot take the delivery meanwhile), and a schedule's slot is taken on time while such
a delivery is in progress. On SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from service.audits import schedules
from service.audits.worker import run_worker
from service.storage.db import make_sessionmaker, transaction
from service.storage.tables import ScheduleRun, WebhookAttempt
from service.webhooks import endpoints
from service.webhooks.delivery import IN_PROGRESS, DeliveryPolicy, deliver_due
from service.webhooks.outbox import announce
from tests.service.conftest import ProjectKey, settings_for
from tests.service.test_workers import wait_for


@dataclass
class Trickler:
    url: str
    connections: list[float] = field(default_factory=list)  # when each was accepted


@contextmanager
def trickler(every_s: float = 0.5) -> Iterator[Trickler]:
    """A server that reads each request, sends a status line and headers promising a long
    body, then one byte of it every `every_s` seconds until the client goes."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    found = Trickler(f"http://127.0.0.1:{server.getsockname()[1]}/hooks")
    done = threading.Event()

    def serve(connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            try:
                connection.sendall(b"HTTP/1.1 500 Oops\r\nContent-Length: 100000\r\n\r\n")
                while not done.is_set():
                    connection.sendall(b"x")
                    time.sleep(every_s)
            except OSError:  # the client went
                return

    def accept() -> None:
        while not done.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            found.connections.append(time.monotonic())
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield found
    finally:
        done.set()
        acceptor.join()
        server.close()


def _register(engine: Engine, project: ProjectKey, url: str) -> None:
    with transaction(make_sessionmaker(engine)) as session:
        endpoints.create_endpoint(
            session, project_id=project.id, url=url, events=["audit.failed"], allow_private=True
        )
        announce(session, project_id=project.id, event_type="audit.failed", data={})


def test_a_trickling_receiver_is_cut_off_at_the_timeout_and_sent_to_once(
    project: ProjectKey, clean_database: Engine
) -> None:
    factory = make_sessionmaker(clean_database)
    policy = DeliveryPolicy(allow_private=True, timeout_s=2.0, retry_base_s=600.0)
    with trickler() as slow:
        _register(clean_database, project, slow.url)
        others: list[int] = []

        def another_worker() -> None:  # tries while the first attempt is under way
            wait_for(lambda: len(slow.connections) == 1, timeout=10)
            others.append(deliver_due(factory, worker="other", policy=policy))

        beside = threading.Thread(target=another_worker)
        beside.start()
        started = time.monotonic()
        assert deliver_due(factory, worker="first", policy=policy) == 1
        took = time.monotonic() - started
        beside.join()
    assert took < 2.0 + 1.0, took
    assert others == [0]
    assert len(slow.connections) == 1
    with factory() as session:
        (attempt,) = session.scalars(select(WebhookAttempt))
    assert attempt.status_code is None
    assert attempt.error == "timeout: no complete answer within 2 s"
    assert 1900 <= attempt.duration_ms < 3000


def test_a_slot_is_taken_on_time_while_a_slow_delivery_is_under_way(
    project: ProjectKey, clean_database: Engine, database_url: str
) -> None:
    factory = make_sessionmaker(clean_database)
    with transaction(factory) as session:
        schedule = schedules.create_schedule(
            session, project_id=project.id, cron="* * * * * */2", request={}
        )
        schedule.created_at = datetime.now(UTC) - timedelta(days=1)
    settings = settings_for(
        database_url,
        webhook_allow_private=True,
        webhook_timeout_s=8.0,
        max_queued_audits_per_project=100,
    )
    stop = threading.Event()
    with trickler() as slow:
        _register(clean_database, project, slow.url)
        worker = threading.Thread(
            target=run_worker,
            kwargs={"factory": factory, "stop": stop, "poll_s": 0.2, "settings": settings},
        )
        worker.start()
        try:
            wait_for(lambda: len(slow.connections) == 1, timeout=20)
            sending_since = datetime.now(UTC)

            def slots_since() -> list[ScheduleRun]:
                with factory() as session:
                    query = select(ScheduleRun).where(ScheduleRun.slot_at >= sending_since)
                    return list(session.scalars(query))

            # slots every 2 s: the next two come within 4 s, each taken within a second
            wait_for(lambda: len(slots_since()) >= 2, timeout=6)
            assert all(r.created_at - r.slot_at < timedelta(seconds=1) for r in slots_since())
            with factory() as session:  # the delivery is still under way
                (attempt,) = session.scalars(select(WebhookAttempt))
                assert attempt.error == IN_PROGRESS
        finally:
            stop.set()
            worker.join(timeout=60)
