"""Bar 1: the official vendor SDKs, configured only with a host and a key, against the real
server (`retention-audit serve`, uvicorn) on loopback.

Between each SDK and the server sits a lossy front: it relays every request to the server
but throws away the server's answer to the first one and answers 503 instead, as a proxy
that drops the connection after the server has committed would. The SDK retries the batch;
the test then checks that every event is stored exactly once, with its user, mechanic, kind,
value, cost and timestamp (within a second).

Mixpanel's library speaks only HTTPS to a host (`https://{api_host}/track`) and retries only
there, so the front terminates TLS with a throwaway certificate the test trusts through
`REQUESTS_CA_BUNDLE`, the variable every `requests`-based client reads.
"""

from __future__ import annotations

import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from service.storage.tables import Event, RawEvent
from tests.service.conftest import ProjectKey, make_project
from tests.service.servers import serve

BASE = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
USERS = 4
ROUNDS = 3  # each round: one Spin (response) and one Payout (reward) per user
RULES = {
    "rules": [
        {"event_name": "Spin", "mechanic": "slots", "kind": "response", "cost_property": "bet"},
        {"event_name": "Payout", "mechanic": "slots", "kind": "reward", "value_property": "coins"},
    ]
}


@dataclass(frozen=True)
class Play:
    """One simulated event: what the SDK is asked to send and what must be stored."""

    user: str
    name: str  # Spin | Payout
    at: datetime
    amount: float  # bet for a Spin, coins for a Payout

    @property
    def kind(self) -> int:
        return 0 if self.name == "Spin" else 1

    @property
    def properties(self) -> dict[str, Any]:
        return {"bet": self.amount} if self.name == "Spin" else {"coins": self.amount}


def plays() -> list[Play]:
    out = []
    for user in range(USERS):
        for round_ in range(ROUNDS):
            at = BASE + timedelta(seconds=user * 100 + round_ * 10, milliseconds=250)
            out.append(Play(f"player-{user}", "Spin", at, float(1 + round_ % 2)))
            out.append(
                Play(
                    f"player-{user}",
                    "Payout",
                    at + timedelta(seconds=1),
                    float((round_ * 7 + user) % 5),
                )
            )
    return out


# --- the lossy front -----------------------------------------------------------------------


class LossyFront:
    """Relays to `upstream`; the answer to the first `drop` requests is lost (503)."""

    FORWARDED = ("content-type", "content-encoding", "authorization", "user-agent")

    def __init__(self, upstream: str, *, drop: int = 1, tls: tuple[Path, Path] | None = None):
        self.upstream = upstream
        self.drop = drop
        self.requests: list[tuple[str, int]] = []  # (path, status relayed to the SDK)
        self._lock = threading.Lock()
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self._relay()

            def do_GET(self) -> None:
                self._relay()

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() in LossyFront.FORWARDED
                }
                answer = httpx.request(
                    self.command, front.upstream + self.path, content=body, headers=headers,
                    timeout=30,
                )  # fmt: skip
                with front._lock:
                    lost = len(front.requests) < front.drop
                    status = 503 if lost else answer.status_code
                    front.requests.append((self.path, status))
                payload = b'{"error": "lost"}' if lost else answer.content
                self.send_response(status)
                kind = "application/json" if lost else answer.headers.get("content-type", "")
                self.send_header("Content-Type", kind)
                if not lost and "retry-after" in answer.headers:
                    self.send_header("Retry-After", answer.headers["retry-after"])
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def hostport(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.hostport}"

    def __enter__(self) -> LossyFront:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    with serve(database_url) as base:
        yield base


@pytest.fixture
def mapped_project(clean_database: Engine, server: str) -> ProjectKey:
    project = make_project(clean_database, "sdk")
    answer = httpx.put(
        f"{server}/v1/projects/{project.id}/mappings", json=RULES, headers=project.auth
    )
    assert answer.status_code == 200, answer.text
    return project


# --- checks --------------------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


def stored_count(engine: Engine, project_id: int) -> int:
    with engine.connect() as connection:
        return int(
            connection.scalar(select(func.count()).where(Event.project_id == project_id)) or 0
        )


def assert_stored_once(
    engine: Engine, project: ProjectKey, expected: list[Play], front: LossyFront, source: str
) -> None:
    wait_for(lambda: stored_count(engine, project.id) >= len(expected))
    time.sleep(0.3)  # let a straggling retry land, so that a duplicate would show
    with engine.connect() as connection:
        rows = connection.execute(
            select(Event.user_id, Event.mechanic, Event.kind, Event.value, Event.cost, Event.ts,
                   Event.source)
            .where(Event.project_id == project.id)
            .order_by(Event.ts, Event.kind)
        ).all()  # fmt: skip
        raw = connection.scalar(select(func.count()).where(RawEvent.project_id == project.id))
    # The SDK did retry: the first answer was lost, and more requests followed it.
    assert front.requests[0][1] == 503
    assert len(front.requests) >= 2
    assert len(rows) == len(expected) == raw  # nothing stored twice, nothing lost
    for row, play in zip(rows, sorted(expected, key=lambda p: (p.at, p.kind)), strict=True):
        assert (row.user_id, row.mechanic, row.kind, row.source) == (
            play.user, "slots", play.kind, source,
        )  # fmt: skip
        assert (row.value, row.cost) == (
            (0.0, play.amount) if play.kind == 0 else (play.amount, 0.0)
        )
        assert abs((row.ts - play.at).total_seconds()) < 1.0


# --- one test per SDK ----------------------------------------------------------------------


def test_segment_sdk(clean_database: Engine, server: str, mapped_project: ProjectKey) -> None:
    from segment.analytics import Client

    expected = plays()
    with LossyFront(server) as front:
        client = Client(
            write_key=mapped_project.key, host=front.url, gzip=True,
            upload_interval=0.05, upload_size=10, timeout=5,
        )  # fmt: skip
        for play in expected:
            client.track(
                user_id=play.user, event=play.name, properties=play.properties, timestamp=play.at
            )
        client.flush()
        client.join()
    assert_stored_once(clean_database, mapped_project, expected, front, "segment")


def test_posthog_sdk(clean_database: Engine, server: str, mapped_project: ProjectKey) -> None:
    from posthog import Posthog

    expected = plays()
    with LossyFront(server) as front:
        client = Posthog(
            mapped_project.key, host=front.url, gzip=True, flush_at=10, flush_interval=0.05,
            max_retries=3, timeout=5,
        )  # fmt: skip
        for play in expected:
            client.capture(
                play.name, distinct_id=play.user, properties=play.properties,
                timestamp=play.at, uuid=str(uuid.uuid4()),
            )  # fmt: skip
        client.flush()
        client.shutdown()
    assert_stored_once(clean_database, mapped_project, expected, front, "posthog")


def test_amplitude_sdk(clean_database: Engine, server: str, mapped_project: ProjectKey) -> None:
    from amplitude import Amplitude, BaseEvent, Config

    expected = plays()
    delivered: list[int] = []
    with LossyFront(server) as front:
        client = Amplitude(
            mapped_project.key,
            Config(
                server_url=f"{front.url}/2/httpapi", flush_queue_size=10,
                flush_interval_millis=50, callback=lambda _e, code, _m: delivered.append(code),
            ),
        )  # fmt: skip
        for play in expected:
            client.track(
                BaseEvent(
                    play.name, user_id=play.user, time=int(play.at.timestamp() * 1000),
                    event_properties=play.properties,
                )
            )  # fmt: skip
        client.flush()
        wait_for(lambda: len(delivered) >= len(expected))
        client.shutdown()
    assert delivered == [200] * len(expected)
    assert_stored_once(clean_database, mapped_project, expected, front, "amplitude")


def test_mixpanel_sdk_track_and_import(
    clean_database: Engine,
    server: str,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mixpanel import BufferedConsumer, Mixpanel

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    project = make_project(clean_database, "mixpanel")  # no mapping: the default names
    expected = plays()
    half = len(expected) // 2
    with LossyFront(server, tls=certificate) as front:
        consumer = BufferedConsumer(max_size=10, api_host=front.hostport, request_timeout=5)
        client = Mixpanel(project.key, consumer=consumer)
        for play in expected[:half]:
            client.track(play.user, play.name, _default_names(play) | {"time": play.at.timestamp()})
        for play in expected[half:]:
            client.import_data(
                None, play.user, play.name, int(play.at.timestamp() * 1000),
                properties=_default_names(play), api_secret=project.key,
            )  # fmt: skip
        consumer.flush()
    assert {path.split("?")[0] for path, _ in front.requests} == {"/track", "/import"}
    assert_stored_once(clean_database, project, expected, front, "mixpanel")


def _default_names(play: Play) -> dict[str, Any]:
    """The properties named as Retention Audit reads them without a mapping."""
    amount = "cost" if play.kind == 0 else "value"
    kind = "response" if play.kind == 0 else "reward"
    return {"mechanic": "slots", "kind": kind, amount: play.amount}
