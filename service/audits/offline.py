"""Offline audits: native event files (NDJSON, JSON, CSV; gzip allowed) audited with no server
and no database, through the same validation and the same `analyse_events` as the service."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from models.analysis import Progress, user_row
from models.canonical import columns_from_fields
from service.audits.planning import AuditPlan
from service.audits.runner import analyse_events
from service.ingestion.events import EventRecord, EventRejected, validate_event
from service.ingestion.payloads import GZIP_MAGIC, loads
from service.reports.chain import canonical_json, digest_of
from service.storage.reading import records_to_fields

MAX_ERRORS_SHOWN = 20
CSV_NUMBERS = ("value", "cost")


@dataclass(frozen=True, slots=True)
class InputError:
    path: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}"
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


class BadInput(Exception):
    def __init__(self, errors: list[InputError]) -> None:
        super().__init__("; ".join(str(e) for e in errors[:MAX_ERRORS_SHOWN]))
        self.errors = errors


def _text(path: Path) -> str:
    data = path.read_bytes()
    if data[:2] == GZIP_MAGIC:
        data = gzip.decompress(data)
    return data.decode("utf-8-sig")


def _base_name(path: Path) -> str:
    name = path.name.lower()
    return name[:-3] if name.endswith(".gz") else name


def read_items(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, item) for every event in a file; raises BadInput on unparseable lines."""
    try:
        text = _text(path)
    except (OSError, EOFError, UnicodeDecodeError, gzip.BadGzipFile) as exc:
        raise BadInput([InputError(str(path), 0, "", f"cannot read: {exc}")]) from None
    if _base_name(path).endswith(".csv"):
        yield from _csv_items(path, text)
        return
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = loads(stripped)
        except orjson.JSONDecodeError as exc:
            raise BadInput(
                [InputError(str(path), exc.lineno, "", f"not valid JSON: {exc.msg}")]
            ) from None
        for index, item in enumerate(items):
            yield index + 1, item  # position in the array (JSON arrays have no event lines)
        return
    errors = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, loads(line)
        except orjson.JSONDecodeError as exc:
            errors.append(InputError(str(path), number, "", f"not valid JSON: {exc.msg}"))
    if errors:
        raise BadInput(errors)


def _csv_items(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        item: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
        line = reader.line_num
        try:
            for key in CSV_NUMBERS:
                if key in item:
                    item[key] = float(item[key])
            stamp = item.get("timestamp")
            if isinstance(stamp, str) and _is_number(stamp):
                item["timestamp"] = float(stamp)
            if "properties" in item:
                item["properties"] = orjson.loads(item["properties"])
        except (ValueError, orjson.JSONDecodeError) as exc:
            raise BadInput([InputError(str(path), line, "", str(exc))]) from None
        yield line, item


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_records(
    paths: list[Path], *, now: datetime, future_tolerance_s: float
) -> list[EventRecord]:
    """Every event of the files, validated; duplicates (by message id) kept once, as stored
    events would be. Raises BadInput listing each bad event with its file and line."""
    records: dict[str, EventRecord] = {}
    errors: list[InputError] = []
    for path in paths:
        try:
            for line, item in read_items(path):
                try:
                    record = validate_event(item, now=now, future_tolerance_s=future_tolerance_s)
                except EventRejected as exc:
                    errors.append(
                        InputError(str(path), line, exc.rejection.field, exc.rejection.reason)
                    )
                    continue
                records.setdefault(record.message_id, record)
        except BadInput as exc:
            errors.extend(exc.errors)
    if errors:
        raise BadInput(errors)
    return list(records.values())


def audit_files(
    paths: list[Path],
    plan: AuditPlan,
    *,
    progress: Progress | None = None,
    processes: int = 1,
    scheduler: str | None = None,
) -> dict[str, Any]:
    """The report of the events in `paths`; its id is its input digest."""
    records = load_records(paths, now=datetime.now(UTC), future_tolerance_s=86_400.0)
    in_window = plan.window.admitting()
    records = [r for r in records if in_window(r)]
    columns, summary = columns_from_fields(records_to_fields(records))
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
