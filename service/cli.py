"""The `retention-audit` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import orjson
from sqlalchemy.orm import Session, sessionmaker

from service import projects
from service.db import make_engine, make_sessionmaker, transaction
from service.keys import DEFAULT_SCOPES, Scope
from service.settings import get_settings


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
    create.set_defaults(handler=_project_create)
    listing = project.add_parser("list", help="list projects")
    listing.set_defaults(handler=_project_list)

    demo = commands.add_parser("demo", help="set up a demo project and show how to use it")
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
    )
    return 0


def _migrate(_args: argparse.Namespace) -> int:
    from service.migrate import upgrade

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
        project, key = projects.create_project(session, name=args.name)
        _print_json({"id": project.id, "name": project.name, "key": key})
    return 0


def _demo(args: argparse.Namespace) -> int:
    with transaction(_session_factory()) as session:
        existing = [p for p in projects.list_projects(session) if p.name == "demo"]
        if existing:
            project_id = existing[0].id
            _, key = projects.create_key(
                session, project_id=project_id, name="demo", scopes=DEFAULT_SCOPES
            )
        else:
            project, key = projects.create_project(session, name="demo")
            project_id = project.id
    base = f"http://{args.host}:{args.port}"
    event = (
        '{"user_id":"u1","timestamp":"2026-05-01T12:00:00Z","mechanic":"slots",'
        '"kind":"response","cost":1}'
    )
    sys.stdout.write(
        f"Demo project {project_id}; its key (shown once): {key}\n\n"
        f"Send events:\n  curl -X POST {base}/v1/events -H 'Authorization: Bearer {key}' "
        f"-H 'Content-Type: application/x-ndjson' --data-binary '{event}'\n"
        f"See what arrived:\n  curl {base}/v1/projects/{project_id}/stats "
        f"-H 'Authorization: Bearer {key}'\n"
        f"API docs: {base}/docs\n"
    )
    return 0


def _project_list(_args: argparse.Namespace) -> int:
    with transaction(_session_factory()) as session:
        _print_json([{"id": p.id, "name": p.name} for p in projects.list_projects(session)])
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


if __name__ == "__main__":
    raise SystemExit(main())
