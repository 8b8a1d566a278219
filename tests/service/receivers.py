"""A real webhook receiver for tests: an HTTP server on a loopback port, in a thread, that
records what it is sent and answers with the status codes it is told to."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    url: str
    # the status code of each request in turn; once used up, 200
    answers: list[int] = field(default_factory=list)
    extra_headers: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            code = self.answers.pop(0) if self.answers else 200
            self.received.append(Received(path, headers, body, code))
            return code

    def successes(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if 200 <= r.answered < 300]

    def wait_for(self, predicate: Callable[[Receiver], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise TimeoutError(f"receiver got only {self.received}")
            time.sleep(0.05)


@contextmanager
def receiver(answers: list[int] | None = None, **headers: str) -> Iterator[Receiver]:
    """A receiver on 127.0.0.1 (a free port); `answers` as in `Receiver.answers`."""
    holder: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            found = {k.lower(): v for k, v in self.headers.items()}
            code = holder[0].answer(self.path, found, body)
            self.send_response(code)
            for name, value in holder[0].extra_headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    holder.append(Receiver(f"http://127.0.0.1:{port}/hooks", list(answers or []), dict(headers)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
