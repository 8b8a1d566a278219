"""Ingestion benchmark: HTTP ingestion against PostgreSQL `COPY`, side by side in one run.

    python bench/ingest.py [--events 1000000] [--clients 8] [--batch 500] [--workers 4]
    python bench/ingest.py --smoke          # small size, for CI

Generates N native events (skewed events per user), pre-encodes them as gzip NDJSON batches,
posts them with concurrent clients to `retention-audit serve` on PostgreSQL (several uvicorn
workers, as in production), then loads the same rows with `COPY` from Python into an empty
table shaped like the event table (same columns, constraints and indexes). Prints events/s
for both and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    copy_rate,
    fresh_database,
    gzip_ndjson,
    native_events,
    sqlalchemy_url,
    synthetic_log,
)
from models.columns import EVENT_FIELDS
from service.ingestion.events import validate_event

BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batch", type=int, default=500)
    # 4 workers: the README's production command
    parser.add_argument("--workers", type=int, default=4, help="uvicorn workers")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--smoke", action="store_true", help="20,000 events (CI)")
    args = parser.parse_args()
    n = 20_000 if args.smoke else args.events

    log = synthetic_log(n, users=max(n // 100, 10))
    bodies = [
        gzip_ndjson(native_events(log, s, min(s + args.batch, n))) for s in range(0, n, args.batch)
    ]

    fresh_database()
    key = create_project()[1]
    http = _post_all(bodies, key, args)

    rows = _copy_rows(log)
    copy_per_s = copy_rate(rows)

    result = {
        "events": n,
        "batches": len(bodies),
        "clients": args.clients,
        "uvicorn_workers": args.workers,
        "http_events_per_s": round(http["rate"]),
        "copy_events_per_s": round(copy_per_s),
        "ratio_http_to_copy": round(http["rate"] / copy_per_s, 3),
        "http_accepted": http["accepted"],
    }
    print(json.dumps(result, indent=2))
    if http["accepted"] != n:
        sys.exit(f"expected {n} accepted, got {http['accepted']}")


def create_project() -> tuple[int, str]:
    """A new project in the scratch database (a name of its own, so runs side by side do not
    collide): its id and its key (all scopes)."""
    out = subprocess.run(
        [str(BIN / "retention-audit"), "project", "create", f"bench-{uuid.uuid4().hex[:12]}"],
        env={**os.environ, "DATABASE_URL": sqlalchemy_url()},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    created = json.loads(out)
    return int(created["id"]), str(created["key"])


def _post_all(bodies: list[bytes], key: str, args: argparse.Namespace) -> dict[str, float]:
    env = {**os.environ, "DATABASE_URL": sqlalchemy_url()}
    server = subprocess.Popen(
        [
            str(BIN / "retention-audit"),
            "serve",
            "--port",
            str(args.port),
            "--workers",
            str(args.workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{args.port}"
    # the clock starts once every worker has started (each imports the app, a few CPU-seconds
    # on cores the others are already serving from): ingestion, not start-up, is measured
    started = threading.Semaphore(0)
    threading.Thread(target=_watch_log, args=(server, started), daemon=True).start()
    try:
        for _ in range(args.workers):
            if not started.acquire(timeout=120):
                raise TimeoutError("the server's workers did not start")
        _wait(base)
        headers = {
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/x-ndjson",
            "Content-Encoding": "gzip",
        }
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:

            def post(body: bytes) -> int:
                response = client.post("/v1/events", content=body)
                response.raise_for_status()
                return int(orjson.loads(response.content)["accepted"])

            start = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                accepted = sum(pool.map(post, bodies))
            seconds = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=30)
    n = sum(1 for _ in bodies) and accepted
    return {"rate": accepted / seconds, "accepted": n, "seconds": seconds}


def _watch_log(server: subprocess.Popen[str], started: threading.Semaphore) -> None:
    """Release `started` once per worker that reports start-up complete; drain the rest."""
    assert server.stderr is not None
    for line in server.stderr:
        if "Application startup complete" in line:
            started.release()


def _wait(base: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError("server did not start")


def _copy_rows(log: object) -> list[tuple[object, ...]]:
    """The rows the service stores for these events, built before the clock starts."""
    now = datetime.now(UTC)
    rows = []
    for event in native_events(log, 0, len(log)):  # type: ignore[arg-type]
        r = validate_event(event, now=now, future_tolerance_s=86_400)
        fields = [None if f.name == "properties" else getattr(r, f.name) for f in EVENT_FIELDS]
        rows.append((1, *fields, "native", now))
    return rows


if __name__ == "__main__":
    main()
