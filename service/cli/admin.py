"""Commands that administer the database: projects, their keys, their report chains."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from service.cli.common import print_json, session_factory
from service.errors import InvalidInput
from service.projects import projects
from service.projects.keys import DEFAULT_SCOPES, Scope
from service.storage.db import transaction


def add_commands(commands: Any) -> None:
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


def _project_create(args: argparse.Namespace) -> int:
    with transaction(session_factory()) as session:
        existing = [p for p in projects.list_projects(session) if p.name == args.name]
        if existing and args.if_missing:
            _, key = projects.create_key(
                session, project_id=existing[0].id, name="cli", scopes=DEFAULT_SCOPES
            )
            print_json({"id": existing[0].id, "name": args.name, "key": key})
            return 0
        try:
            project, key = projects.create_project(
                session, name=args.name, time_zone=args.time_zone
            )
        except InvalidInput as exc:
            sys.stderr.write(f"retention-audit: {exc}\n")
            return 2
        print_json(
            {"id": project.id, "name": project.name, "time_zone": project.time_zone, "key": key}
        )
    return 0


def _project_list(_args: argparse.Namespace) -> int:
    with transaction(session_factory()) as session:
        print_json(
            [
                {"id": p.id, "name": p.name, "time_zone": p.time_zone}
                for p in projects.list_projects(session)
            ]
        )
    return 0


def _key_create(args: argparse.Namespace) -> int:
    scopes = tuple(Scope(s) for s in (args.scope or [Scope.INGEST.value]))
    with transaction(session_factory()) as session:
        projects.get_project(session, args.project_id)
        row, key = projects.create_key(
            session, project_id=args.project_id, name=args.name, scopes=scopes
        )
        print_json({"id": row.id, "key": key, "scopes": [str(s) for s in scopes]})
    return 0


def _key_list(args: argparse.Namespace) -> int:
    with transaction(session_factory()) as session:
        print_json(
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
    with transaction(session_factory()) as session:
        projects.revoke_key(session, project_id=args.project_id, key_id=args.key_id)
    return 0


def _chain_export(args: argparse.Namespace) -> int:
    """Exit 1 when the stored chain no longer agrees with the file, 2 on a bad argument."""
    from service.errors import NotFound
    from service.reports.export import ExportMismatch, ExportUnreadable, export_chain

    with transaction(session_factory()) as session:
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
