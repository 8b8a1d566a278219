"""Schema migrations: `alembic upgrade head` against the configured database."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config


def alembic_dir() -> Path:
    """Where the migrations are: `RETENTION_AUDIT_ALEMBIC_DIR`, else beside the source tree
    (a checkout or editable install), else `./alembic` (the container's working directory)."""
    configured = os.environ.get("RETENTION_AUDIT_ALEMBIC_DIR")
    candidates = [Path(configured)] if configured else []
    candidates += [Path(__file__).resolve().parents[2] / "alembic", Path.cwd() / "alembic"]
    for candidate in candidates:
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("migrations not found; set RETENTION_AUDIT_ALEMBIC_DIR")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(alembic_dir()))
    config.set_main_option("path_separator", "os")
    config.attributes["url"] = url
    config.attributes["configure_logger"] = False
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
