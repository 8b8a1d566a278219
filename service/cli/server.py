"""Commands that run the service: `serve`, `migrate`, `worker`, `demo`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from service.audits.worker import run_one, run_worker, worker_name
from service.cli.common import session_factory
from service.settings import get_settings


def add_commands(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(handler=_migrate)

    worker = commands.add_parser("worker", help="run queued audits (several may run at once)")
    worker.add_argument("--poll", type=float, default=1.0, help="seconds between queue polls")
    worker.add_argument(
        "--lease",
        type=float,
        default=60.0,
        help="seconds before a silent worker's audit is retaken",
    )
    worker.add_argument("--once", action="store_true", help="run at most one audit, then exit")
    worker.add_argument(
        "--processes", type=int, help="processes per audit (default: this machine's cores)"
    )
    worker.set_defaults(handler=_worker)

    demo = commands.add_parser(
        "demo", help="simulate a product, ingest and audit it, and show where the report is"
    )
    demo.add_argument("--host", default="127.0.0.1", help="where `serve` will listen")
    demo.add_argument("--port", type=int, default=8000)
    demo.set_defaults(handler=_demo)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        # a worker still importing the app on a busy host answers the supervisor's health
        # check late; with uvicorn's 5 s it is killed and restarted, over and over
        timeout_worker_healthcheck=120,
    )
    return 0


def _migrate(_args: argparse.Namespace) -> int:
    from service.storage.migrate import upgrade

    upgrade(get_settings().resolved_database_url())
    return 0


def _worker(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    factory = session_factory()
    settings = get_settings()
    processes = args.processes or settings.processes()
    scheduler = settings.dask_scheduler
    if args.once:
        run_one(
            factory,
            worker=worker_name(),
            lease_s=args.lease,
            processes=processes,
            scheduler=scheduler,
        )
        return 0
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run_worker(
        factory,
        stop=stop,
        poll_s=args.poll,
        lease_s=args.lease,
        processes=processes,
        scheduler=scheduler,
        settings=settings,
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from service.demo import run_demo
    from service.storage.migrate import upgrade

    settings = get_settings()
    upgrade(settings.resolved_database_url())
    sys.stdout.write("Simulating a product and auditing it (about a minute)…\n")
    result = run_demo(session_factory(), reports_dir=settings.data_dir / "reports")
    base = f"http://{args.host}:{args.port}"
    auth = f"-H 'Authorization: Bearer {result.key}'"
    event = (
        '{"user_id":"u1","timestamp":"2026-05-01T12:00:00Z","mechanic":"slots",'
        '"kind":"response","cost":1}'
    )
    sys.stdout.write(
        f"Demo project {result.project_id}: {result.events} simulated events "
        f"(a slot machine, a daily reward, a predictable mechanic); audit {result.status}.\n"
        f"Its key (shown once): {result.key}\n\n"
        f"Read the report:\n  {result.report_path}\n"
        f"  curl {base}/v1/audits/{result.audit_id}/report.html {auth} > report.html\n"
        f"  curl {base}/v1/audits/{result.audit_id} {auth}\n"
        f"Send events:\n  curl -X POST {base}/v1/events {auth} "
        f"-H 'Content-Type: application/x-ndjson' --data-binary '{event}'\n"
        f"Audit again:\n  curl -X POST {base}/v1/audits {auth}\n"
        f"API docs: {base}/docs\n\n"
    )
    return 0 if result.status == "succeeded" else 1
