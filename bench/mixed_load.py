"""Mixed-load benchmark: many clients ingesting and reading at once against a real server.

    python bench/mixed_load.py [--clients 50] [--seconds 60] [--workers 4]
    python bench/mixed_load.py --smoke          # 4 clients for 3 s, for CI

Starts `retention-audit serve` on PostgreSQL (several uvicorn workers, as in production) on a
scratch database (`RETENTION_AUDIT_BENCH_DB`), stores a seed of events and one finished audit,
then runs the clients for the given time: threads spread over a few processes, as separate
clients would be. Each client sends, at random in fixed proportions,
an ingestion batch (gzip NDJSON, new message ids), a report read (`GET /v1/audits/{id}`), a
page of per-user results (`GET /v1/audits/{id}/users`) or the project's stats. Prints, per kind
of request, how many were sent, how many failed (any answer but 2xx, or no answer) and the
p50/p95/p99 latency, as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import fresh_database, gzip_ndjson, native_events, sqlalchemy_url, synthetic_log
from bench.ingest import BIN, _wait, _watch_log, create_project

# The share of each kind of request (the attack review's mix: stats at 15 %).
MIX = {"ingest": 0.40, "report": 0.20, "users": 0.25, "stats": 0.15}
BATCH = 200  # events per ingestion batch


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=4, help="uvicorn workers")
    parser.add_argument("--seed-events", type=int, default=200_000)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument(
        "--client-processes", type=int, default=5, help="processes the client threads run in"
    )
    parser.add_argument("--smoke", action="store_true", help="4 clients, 3 s, 5,000 seed events")
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.seconds, args.seed_events, args.workers = 4, 3.0, 5_000, 2
        args.client_processes = 2

    # enough new batches for the run at a rate no server here reaches (then they repeat)
    n_load = BATCH * max(50, int(args.clients * args.seconds * 2))
    log = synthetic_log(args.seed_events + n_load, users=max(args.seed_events // 100, 10))
    bodies = [
        gzip_ndjson(native_events(log, s, min(s + BATCH, len(log))))
        for s in range(0, len(log), BATCH)
    ]
    seed, load = bodies[: args.seed_events // BATCH], bodies[args.seed_events // BATCH :]

    fresh_database()
    project_id, key = create_project()
    server = _serve(args)
    try:
        base = f"http://127.0.0.1:{args.port}"
        audit_id = _prepare(base, key, seed)
        results = _run(base, key, project_id, audit_id, load, args)
    finally:
        server.terminate()
        server.wait(timeout=30)
    out = {
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "commit": _commit(),
        "clients": args.clients,
        "seconds": args.seconds,
        "uvicorn_workers": args.workers,
        "seed_events": args.seed_events,
        "batch_events": BATCH,
        "mix": MIX,
        **results,
    }
    print(json.dumps(out, indent=2))


def _serve(args: argparse.Namespace) -> subprocess.Popen[str]:
    command = [str(BIN / "retention-audit"), "serve", "--port", str(args.port)]
    server = subprocess.Popen(
        [*command, "--workers", str(args.workers)],
        env={**os.environ, "DATABASE_URL": sqlalchemy_url()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = threading.Semaphore(0)
    threading.Thread(target=_watch_log, args=(server, started), daemon=True).start()
    for _ in range(args.workers):
        if not started.acquire(timeout=180):
            server.terminate()
            raise TimeoutError("the server's workers did not start")
    _wait(f"http://127.0.0.1:{args.port}")
    return server


def _prepare(base: str, key: str, seed: list[bytes]) -> str:
    """Store the seed events and run one audit of them to the end, before the clock starts."""
    from service.audits.worker import run_one
    from service.storage.db import make_engine, make_sessionmaker

    auth = {"Authorization": f"Bearer {key}"}
    ingest = {**auth, "Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}
    with httpx.Client(base_url=base, timeout=120) as client:
        with ThreadPoolExecutor(4) as pool:
            for answer in pool.map(
                lambda body: client.post("/v1/events", content=body, headers=ingest), seed
            ):
                answer.raise_for_status()
        audit_id = client.post("/v1/audits", json={}, headers=auth).raise_for_status().json()["id"]
        engine = make_engine(sqlalchemy_url())
        try:
            while run_one(make_sessionmaker(engine), worker="bench", processes=1) is not None:
                pass
        finally:
            engine.dispose()
        audit = client.get(f"/v1/audits/{audit_id}", headers=auth).raise_for_status().json()
        if audit["status"] != "succeeded":
            raise RuntimeError(f"the seed audit did not succeed: {audit['error']}")
    return str(audit_id)


def _run(
    base: str, key: str, project_id: int, audit_id: str, load: list[bytes], args: argparse.Namespace
) -> dict[str, Any]:
    """The clients, as threads spread over `--client-processes` processes (so that the
    clients' own interpreter lock does not add to the latencies they measure)."""
    processes = max(1, min(args.client_processes, args.clients))
    start_at = time.time() + _START_DELAY_S
    shares = [
        (base, key, project_id, audit_id, load[p::processes], start_at, args.seconds, clients)
        for p, clients in enumerate(np.array_split(np.arange(args.clients), processes))
    ]
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn")) as pool:
        parts = list(pool.map(_clients, shares))
    seconds = max(part["seconds"] for part in parts)
    latencies = {kind: [x for part in parts for x in part["latencies"][kind]] for kind in MIX}
    errors: dict[str, dict[str, int]] = {kind: {} for kind in MIX}
    for part in parts:
        for kind, counts in part["errors"].items():
            for outcome, n in counts.items():
                errors[kind][outcome] = errors[kind].get(outcome, 0) + n
    per_kind = {kind: _summary(latencies[kind], errors[kind], seconds) for kind in MIX}
    return {
        "client_processes": processes,
        "measured_seconds": round(seconds, 2),
        "requests": sum(len(v) for v in latencies.values()),
        "errors": sum(sum(e.values()) for e in errors.values()),
        "events_accepted": sum(part["accepted"] for part in parts),
        "events_per_s": round(sum(part["accepted"] for part in parts) / seconds),
        "batches_repeated": sum(part["repeated"] for part in parts),
        "per_kind": per_kind,
    }


# the client processes start together this long after they are spawned (spawning and importing
# take a moment), so none runs alone at first
_START_DELAY_S = 5.0


def _clients(share: tuple[Any, ...]) -> dict[str, Any]:
    base, key, project_id, audit_id, load, start_at, seconds, clients = share
    auth = {"Authorization": f"Bearer {key}"}
    ingest = {**auth, "Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}
    paths = {
        "report": f"/v1/audits/{audit_id}",
        "users": f"/v1/audits/{audit_id}/users?limit=100",
        "stats": f"/v1/projects/{project_id}/stats",
    }
    kinds, weights = list(MIX), list(MIX.values())
    latencies: dict[str, list[float]] = {kind: [] for kind in MIX}
    errors: dict[str, dict[str, int]] = {kind: {} for kind in MIX}
    accepted = [0]
    next_body = [0]
    lock = threading.Lock()
    time.sleep(max(0.0, start_at - time.time()))
    started = time.perf_counter()
    deadline = started + seconds

    def client_loop(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=60) as client:
            while time.perf_counter() < deadline:
                kind = rng.choices(kinds, weights)[0]
                start = time.perf_counter()
                try:
                    if kind == "ingest":
                        with lock:
                            body = load[next_body[0] % len(load)]
                            next_body[0] += 1
                        answer = client.post("/v1/events", content=body, headers=ingest)
                    else:
                        answer = client.get(paths[kind], headers=auth)
                    outcome = str(answer.status_code) if not answer.is_success else None
                except httpx.HTTPError as exc:
                    outcome, answer = type(exc).__name__, None
                elapsed = time.perf_counter() - start
                with lock:
                    latencies[kind].append(elapsed)
                    if outcome is not None:
                        errors[kind][outcome] = errors[kind].get(outcome, 0) + 1
                    elif kind == "ingest" and answer is not None:
                        accepted[0] += int(orjson.loads(answer.content)["accepted"])

    with ThreadPoolExecutor(len(clients)) as pool:
        list(pool.map(client_loop, [int(c) for c in clients]))
    return {
        "seconds": time.perf_counter() - started,
        "latencies": latencies,
        "errors": errors,
        "accepted": accepted[0],
        "repeated": max(0, next_body[0] - len(load)),
    }


def _summary(latencies: list[float], errors: dict[str, int], seconds: float) -> dict[str, Any]:
    ms = np.array(latencies) * 1000.0 if latencies else np.zeros(1)
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {
        "requests": len(latencies),
        "per_s": round(len(latencies) / seconds, 1),
        "errors": sum(errors.values()),
        "errors_by_answer": errors,
        "p50_ms": round(float(p50), 1),
        "p95_ms": round(float(p95), 1),
        "p99_ms": round(float(p99), 1),
        "max_ms": round(float(ms.max()), 1),
    }


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parents[1],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    main()
