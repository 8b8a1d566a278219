"""Offline audits: native event files (NDJSON, JSON, CSV, Parquet; gzip allowed; local paths,
globs, standard input, URLs) audited with no server and no database, through the same rules
of validation and the same `analyse_events` as the service."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from os import PathLike
from typing import Any

from models.analysis import Progress, user_row
from service.audits.planning import AuditPlan
from service.audits.runner import analyse_events
from service.ingestion.columnar import BadInput, InputError, Limits, collect, read_batches
from service.ingestion.sources import SourceError, sources
from service.reports.chain import canonical_json, digest_of

__all__ = ["BadInput", "InputError", "audit_files"]

# Faults kept to be shown (the rest are counted): a file of bad rows must not fill memory.
MAX_ERRORS_KEPT = 1000


def audit_files(
    inputs: Sequence[str | PathLike[str]],
    plan: AuditPlan,
    *,
    progress: Progress | None = None,
    processes: int = 1,
    scheduler: str | None = None,
    skip_invalid: bool = False,
    on_skipped: Callable[[InputError], None] | None = None,
) -> dict[str, Any]:
    """The report of the events in `inputs`; its id is its input digest.

    Raises BadInput naming each bad row (file, line or row, field, reason) — unless
    `skip_invalid`, when bad rows are left out, counted (`input.skipped`) and each given to
    `on_skipped`; an input that cannot be read at all is refused either way."""
    faults: list[InputError] = []
    counted = {"rows": 0, "unreadable": 0}

    def fault(error: InputError) -> None:
        counted["unreadable" if error.line == 0 else "rows"] += 1
        if len(faults) < MAX_ERRORS_KEPT:
            faults.append(error)

    def reading(events: int, done: int, total: int) -> None:
        if progress is not None:
            progress(f"read {events:,} events", done, total)

    try:
        found = sources(inputs)
    except SourceError as exc:
        raise BadInput([InputError(exc.name, 0, "", exc.reason)]) from None

    def batches() -> Iterator[Any]:
        yield from read_batches(
            found, limits=Limits(datetime.now(UTC)), on_error=fault, reading=reading
        )
        if progress is not None:
            progress("ordering events", 0, 1)

    columns, summary = collect(batches(), plan.window)
    if counted["unreadable"] or (faults and not skip_invalid):
        shown = [f for f in faults if f.line == 0] or faults
        raise BadInput(shown, more=sum(counted.values()) - len(shown))
    if skip_invalid:
        summary = replace(summary, skipped=counted["rows"])
        if on_skipped is not None:
            for skipped in faults:
                on_skipped(skipped)
    body, user_records = analyse_events(
        columns, summary, plan, progress=progress, processes=processes, scheduler=scheduler
    )
    report = {
        **body,
        "id": "offline-" + summary.digest.removeprefix("sha256:")[:16],
        "previous_report_digest": None,
    }
    report["user_results"] = [user_row(record) for record in user_records]
    report["digest"] = digest_of(
        canonical_json({k: v for k, v in report.items() if k != "user_results"})
    )
    return report
