"""What the commands share: JSON on standard output and the configured database."""

from __future__ import annotations

import sys

import orjson
from sqlalchemy.orm import Session, sessionmaker

from service.settings import get_settings
from service.storage.db import make_engine, make_sessionmaker


def print_json(value: object) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def session_factory() -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(get_settings().resolved_database_url()))


# The exit statuses of `retention-audit audit` (and `diff`), documented in the README.
EXIT_PASSED = 0  # audited; no finding reached --fail-on (or no --fail-on given)
EXIT_BAD_INPUT = 2  # a bad file, event, option or configuration; nothing was audited
EXIT_GATE_FAILED = 3  # a finding reached --fail-on
EXIT_EMPTY = 4  # the scope matched no event, or some mechanics it named matched none
