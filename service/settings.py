"""Settings from the environment, read through a cached function (never at import)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.columns import MAX_ABS_VALUE, MAX_COST
from service.reports.signing import ReportKeys


class Settings(BaseSettings):
    """Everything configurable, from `RETENTION_AUDIT_*` variables (and `DATABASE_URL`)."""

    # settings hold secrets (report keys, the admin key): an error names the setting and why,
    # never the value
    model_config = SettingsConfigDict(
        env_prefix="RETENTION_AUDIT_", extra="ignore", hide_input_in_errors=True
    )

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
    max_abs_value: float = Field(
        default=MAX_ABS_VALUE,
        gt=0.0,
        allow_inf_nan=False,
        description="Largest |value| of a reward event; a larger one is rejected.",
    )
    max_cost: float = Field(
        default=MAX_COST,
        gt=0.0,
        allow_inf_nan=False,
        description="Largest cost of a response event; a larger one is rejected.",
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
    ingest_concurrency: int = Field(
        default=2,
        ge=0,
        description="Ingestion requests each server process works on at once; more wait their "
        "turn, so reads are served between batches (0: no limit).",
    )
    report_check_ttl_s: float = Field(
        default=30.0,
        ge=0.0,
        description="Seconds a report read may show the result of an earlier full check of the "
        "report (its digest, per-user rows and signature) instead of checking it again; "
        "`/verify` always checks in full. 0: every read checks in full.",
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

    webhook_allow_private: bool = Field(
        default=False,
        description="Deliver webhooks to loopback, private, link-local and other non-public "
        "addresses too (default: refused, at registration and at each delivery).",
    )
    webhook_timeout_s: float = Field(
        default=10.0,
        gt=0.0,
        description="Seconds a webhook attempt may take in all: connecting, sending the "
        "message and reading the answer, however slowly the receiver sends it.",
    )
    webhook_retention_days: float = Field(
        default=30.0,
        gt=0.0,
        description="Days a webhook message is kept once all its deliveries have ended "
        "(succeeded or failed); the workers then delete it with its deliveries and attempts.",
    )
    webhook_retry_base_s: float = Field(
        default=30.0,
        gt=0.0,
        description="Backoff before a failed webhook's first retry; it doubles per attempt, "
        "capped at `webhook_retry_max_s`, and each wait is drawn at random below it.",
    )
    webhook_retry_max_s: float = Field(
        default=3600.0, gt=0.0, description="Longest backoff between webhook attempts."
    )
    webhook_max_attempts: int = Field(
        default=10, ge=1, description="Attempts of a webhook delivery before it is given up."
    )
    dask_scheduler: str | None = Field(
        default=None,
        description="Address of a Dask distributed scheduler (tcp://HOST:8786) on whose "
        "workers audits analyse their partitions of users; unset: this machine's processes.",
    )

    report_keys: SecretStr | None = Field(
        default=None,
        description="Keys that sign stored reports, `id:secret` separated by commas: the "
        "first signs, all verify (list a retired key after the new one while its reports "
        "should still verify). Unset: reports are stored unsigned and verify as 'unsigned'.",
    )

    @field_validator("report_keys")
    @classmethod
    def _report_keys_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            ReportKeys.parse(value.get_secret_value())  # refuse a malformed list at start
        return value

    def signing_keys(self) -> ReportKeys:
        """The report keys (none when unset)."""
        if self.report_keys is None:
            return ReportKeys(())
        return ReportKeys.parse(self.report_keys.get_secret_value())

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
