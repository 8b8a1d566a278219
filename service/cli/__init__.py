"""The `retention-audit` command line: one module per family of commands."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from service.cli import admin, diff, importing, offline_audit, server


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
    server.add_commands(commands)
    admin.add_commands(commands)
    offline_audit.add_commands(commands)
    diff.add_commands(commands)
    importing.add_commands(commands)
    return parser
