"""The `retention-audit` command line."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy.orm import Session, sessionmaker

from models.analysis import Progress
from service.audits.planning import plan_audit
from service.audits.worker import run_one, run_worker, worker_name
from service.errors import InvalidInput
from service.projects import projects
from service.projects.keys import DEFAULT_SCOPES, Scope
from service.reports.rendering import SEVERITIES, render_html, render_markdown, worst_severity
from service.settings import get_settings
from service.storage.db import make_engine, make_sessionmaker, transaction


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    result: int = args.handler(args)
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="retention-audit", description="Audit the reward mechanics of a digital product."
    )
    commands = parser.add_subparsers(title="commands")

    serve = commands.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="bring the database schema up to date")
    migrate.set_defaults(handler=_migrate)

    project = commands.add_parser("project", help="manage projects").add_subparsers()
    create = project.add_parser("create", help="create a project and print its first key")
    create.add_argument("name")
    create.add_argument(
        "--if-missing", action="store_true", help="if it exists, print a fresh key for it"
    )
    create.add_argument(
        "--time-zone",
        metavar="ZONE",
        help="the product's IANA time zone (e.g. Europe/Berlin), for events sent without offset",
    )
    create.set_defaults(handler=_project_create)
    listing = project.add_parser("list", help="list projects")
    listing.set_defaults(handler=_project_list)

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

    audit = commands.add_parser(
        "audit", help="audit native event files offline (NDJSON, JSON, CSV; gzip allowed)"
    )
    audit.add_argument("files", nargs="+", type=Path, metavar="FILE")
    audit.add_argument("--format", choices=["json", "markdown", "html"], default="json")
    audit.add_argument(
        "--fail-on",
        choices=list(SEVERITIES),
        help="exit with status 3 when a finding reaches this severity",
    )
    audit.add_argument("--out", type=Path, help="write the report here instead of stdout")
    audit.add_argument("--mechanic", action="append", help="audit only these (repeatable)")
    audit.add_argument("--from", dest="start", help="window start (RFC 3339)")
    audit.add_argument("--to", dest="end", help="window end, exclusive (RFC 3339)")
    audit.add_argument(
        "--config", help="analysis settings and rule overrides as JSON (or @file.json)"
    )
    audit.add_argument(
        "--time-zone",
        metavar="ZONE",
        help="the product's IANA time zone (e.g. Europe/Berlin): local time of events sent "
        "without offset (a time_zone in --config wins)",
    )
    audit.add_argument(
        "--processes", type=int, help="processes for the analysis (default: this machine's cores)"
    )
    audit.set_defaults(handler=_audit)

    demo = commands.add_parser(
        "demo", help="simulate a product, ingest and audit it, and show where the report is"
    )
    demo.add_argument("--host", default="127.0.0.1", help="where `serve` will listen")
    demo.add_argument("--port", type=int, default=8000)
    demo.set_defaults(handler=_demo)

    key = commands.add_parser("key", help="manage a project's keys").add_subparsers()
    key_create = key.add_parser("create", help="create a key for a project")
    key_create.add_argument("project_id", type=int)
    key_create.add_argument("--name", default="key")
    key_create.add_argument(
        "--scope",
        action="append",
        choices=[s.value for s in Scope],
        help="repeat for several (default: ingest)",
    )
    key_create.set_defaults(handler=_key_create)
    key_list = key.add_parser("list", help="list a project's keys")
    key_list.add_argument("project_id", type=int)
    key_list.set_defaults(handler=_key_list)
    key_revoke = key.add_parser("revoke", help="revoke a key")
    key_revoke.add_argument("project_id", type=int)
    key_revoke.add_argument("key_id", type=int)
    key_revoke.set_defaults(handler=_key_revoke)

    chain = commands.add_parser("chain", help="a project's report chain").add_subparsers()
    chain_export = chain.add_parser(
        "export", help="its chain entries as NDJSON, to keep and publish outside the database"
    )
    chain_export.add_argument("project_id", type=int, metavar="PROJECT")
    chain_export.add_argument(
        "--out",
        type=Path,
        metavar="FILE",
        help="append the entries FILE lacks, once those it holds match the stored chain",
    )
    chain_export.set_defaults(handler=_chain_export)
    return parser


def _print_json(value: object) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def _session_factory() -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(get_settings().resolved_database_url()))


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


def _project_create(args: argparse.Namespace) -> int:
    with transaction(_session_factory()) as session:
        existing = [p for p in projects.list_projects(session) if p.name == args.name]
        if existing and args.if_missing:
            _, key = projects.create_key(
                session, project_id=existing[0].id, name="cli", scopes=DEFAULT_SCOPES
            )
            _print_json({"id": existing[0].id, "name": args.name, "key": key})
            return 0
        try:
            project, key = projects.create_project(
                session, name=args.name, time_zone=args.time_zone
            )
        except InvalidInput as exc:
            sys.stderr.write(f"retention-audit: {exc}\n")
            return 2
        _print_json(
            {"id": project.id, "name": project.name, "time_zone": project.time_zone, "key": key}
        )
    return 0


def _worker(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    factory = _session_factory()
    processes = args.processes or get_settings().processes()
    if args.once:
        run_one(factory, worker=worker_name(), lease_s=args.lease, processes=processes)
        return 0
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run_worker(factory, stop=stop, poll_s=args.poll, lease_s=args.lease, processes=processes)
    return 0


def _audit(args: argparse.Namespace) -> int:
    from service.audits.offline import BadInput, audit_files

    try:
        plan = plan_audit(_audit_request(args), time_zone=args.time_zone)
    except (InvalidInput, ValueError) as exc:
        sys.stderr.write(f"retention-audit: {exc}\n")
        return 2
    with _progress_bar() as progress:
        try:
            report = audit_files(
                list(args.files),
                plan,
                progress=progress,
                processes=args.processes or get_settings().processes(),
            )
        except BadInput as exc:
            for error in exc.errors[:20]:
                sys.stderr.write(f"{error}\n")
            if len(exc.errors) > 20:
                sys.stderr.write(f"… and {len(exc.errors) - 20} more\n")
            return 2
    rendered = {
        "json": lambda: orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n",
        "markdown": lambda: render_markdown(report),
        "html": lambda: render_html(report),
    }[args.format]()
    if args.out:
        args.out.write_text(rendered, encoding="utf-8")
    else:
        sys.stdout.write(rendered)
    if args.fail_on and worst_severity(report) >= SEVERITIES[args.fail_on]:
        return 3
    return 0


def _audit_request(args: argparse.Namespace) -> dict[str, Any]:
    request: dict[str, Any] = {}
    if args.mechanic:
        request["mechanics"] = args.mechanic
    if args.start:
        request["from"] = args.start
    if args.end:
        request["to"] = args.end
    if args.config:
        text = Path(args.config[1:]).read_text() if args.config.startswith("@") else args.config
        try:
            request["config"] = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"--config is not valid JSON: {exc}") from None
    return request


@contextmanager
def _progress_bar() -> Iterator[Progress | None]:
    """A progress bar on a terminal; silence otherwise (pipes, CI)."""
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=0, unit="step", file=sys.stderr, leave=False) as bar:

        def update(stage: str, done: int, total: int) -> None:
            bar.set_description(stage)
            bar.total = max(total, 1)
            bar.n = done
            bar.refresh()

        yield update


def _demo(args: argparse.Namespace) -> int:
    from service.demo import run_demo
    from service.storage.migrate import upgrade

    settings = get_settings()
    upgrade(settings.resolved_database_url())
    sys.stdout.write("Simulating a product and auditing it (about a minute)…\n")
    result = run_demo(_session_factory(), reports_dir=settings.data_dir / "reports")
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


def _project_list(_args: argparse.Namespace) -> int:
    with transaction(_session_factory()) as session:
        _print_json(
            [
                {"id": p.id, "name": p.name, "time_zone": p.time_zone}
                for p in projects.list_projects(session)
            ]
        )
    return 0


def _key_create(args: argparse.Namespace) -> int:
    scopes = tuple(Scope(s) for s in (args.scope or [Scope.INGEST.value]))
    with transaction(_session_factory()) as session:
        projects.get_project(session, args.project_id)
        row, key = projects.create_key(
            session, project_id=args.project_id, name=args.name, scopes=scopes
        )
        _print_json({"id": row.id, "key": key, "scopes": [str(s) for s in scopes]})
    return 0


def _key_list(args: argparse.Namespace) -> int:
    with transaction(_session_factory()) as session:
        _print_json(
            [
                {
                    "id": k.id,
                    "name": k.name,
                    "prefix": k.prefix,
                    "scopes": k.scopes.split(","),
                    "revoked": k.revoked_at is not None,
                }
                for k in projects.list_keys(session, args.project_id)
            ]
        )
    return 0


def _key_revoke(args: argparse.Namespace) -> int:
    with transaction(_session_factory()) as session:
        projects.revoke_key(session, project_id=args.project_id, key_id=args.key_id)
    return 0


def _chain_export(args: argparse.Namespace) -> int:
    """Exit 1 when the stored chain no longer agrees with the file, 2 on a bad argument."""
    from service.errors import NotFound
    from service.reports.export import ExportMismatch, ExportUnreadable, export_chain

    with transaction(_session_factory()) as session:
        try:
            written = export_chain(session, args.project_id, args.out, sys.stdout)
        except ExportMismatch as exc:
            sys.stderr.write(f"retention-audit: {exc}\n")
            return 1
        except (ExportUnreadable, NotFound, OSError) as exc:
            sys.stderr.write(f"retention-audit: {exc}\n")
            return 2
    if args.out:
        sys.stderr.write(f"{written} entries appended to {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
