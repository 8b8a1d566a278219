"""Settings from the environment, read through a cached function (never at import)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything configurable, from `RETENTION_AUDIT_*` variables (and `DATABASE_URL`)."""

    model_config = SettingsConfigDict(env_prefix="RETENTION_AUDIT_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "RETENTION_AUDIT_DATABASE_URL"),
        description="SQLAlchemy URL; default: a SQLite file in `data_dir`.",
    )
    data_dir: Path = Field(default=Path("data"), description="Where the SQLite default lives.")
    admin_key: str | None = Field(
        default=None, description="Key for the admin endpoints; they are closed when unset."
    )
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024, description="Largest request body as sent (compressed)."
    )
    max_decompressed_bytes: int = Field(
        default=64 * 1024 * 1024,
        description="Largest request body after gzip decoding; bounds gzip bombs.",
    )
    max_batch_events: int = Field(default=100_000, description="Most events in one batch.")
    future_tolerance_s: float = Field(
        default=86_400.0, description="How far in the future an event timestamp may lie."
    )
    ingest_rate_events_per_s: float = Field(
        default=0.0,
        ge=0.0,
        description="Events per second a project may send through the vendor endpoints "
        "(Segment, PostHog, Amplitude, Mixpanel) before 429; 0 turns the limit off.",
    )
    ingest_burst_events: int = Field(
        default=20_000,
        ge=1,
        description="Events a project may send at once before the rate limit applies.",
    )
    read_rate_per_s: float = Field(
        default=0.0,
        ge=0.0,
        description="Requests per second each key may make to the routes that need the read "
        "scope before 429; 0 turns the limit off.",
    )
    read_burst_requests: int = Field(
        default=20,
        ge=1,
        description="Read requests a key may make at once before the read rate limit applies.",
    )
    max_queued_audits_per_project: int = Field(
        default=8,
        ge=1,
        description="Audits a project may have queued or running at once; more are refused "
        "with 429.",
    )
    run_audits_in_process: bool | None = Field(
        default=None,
        description="Run queued audits inside `serve` (default: yes on SQLite, no otherwise).",
    )

    audit_processes: int | None = Field(
        default=None,
        ge=1,
        description="Processes an audit's analysis may use (default: this machine's cores).",
    )

    def processes(self) -> int:
        """Processes per audit: the setting, else the cores this process may run on."""
        if self.audit_processes is not None:
            return self.audit_processes
        return max(1, len(os.sched_getaffinity(0)))

    def resolved_database_url(self) -> str:
        """The configured URL, or the SQLite default (its folder is created on first use)."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'retention-audit.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; a dependency, so tests and apps can override it."""
    return Settings()
