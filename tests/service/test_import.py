"""Bulk import of export files: the same product exported by Amplitude, Mixpanel, PostHog
(Parquet) and Segment, and as native NDJSON, imports to the same stored events, the same
project counts and the same report as the product posted natively; importing again adds
nothing; bad records are named and the rest imported."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from service.ingestion.bulk import ImportSummary, import_files
from service.storage.db import make_sessionmaker
from service.storage.tables import Event, RawEvent
from tests.service.conftest import ProjectKey, make_project, settings_for
from tests.service.export_files import (
    mixpanel_records,
    write_amplitude,
    write_mixpanel,
    write_native,
    write_posthog,
    write_segment,
)
from tests.service.test_adapter_equivalence import RULES, audited, product, report_of
from tests.service.test_project_counts import scanned, stats

WRITERS: dict[str, tuple[str, Callable[[Path, list[dict[str, Any]]], Path]]] = {
    "amplitude": ("export.zip", write_amplitude),
    "mixpanel": ("export.json", write_mixpanel),
    "posthog": ("events.parquet", write_posthog),
    "segment": ("messages.json.gz", write_segment),
    "native": ("events.ndjson.gz", write_native),
}


def run_import(
    engine: Engine, url: str, project_id: int, paths: list[Path], fmt: str = "auto"
) -> ImportSummary:
    return import_files(
        make_sessionmaker(engine),
        project_id=project_id,
        paths=paths,
        settings=settings_for(url),
        fmt=fmt,
        batch=150,  # several batches per file
    )


def raw_count(engine: Engine, project_id: int) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count()).select_from(RawEvent).where(RawEvent.project_id == project_id)
            ).scalar_one()
        )


def test_every_export_imports_to_the_product_posted_natively_and_only_once(
    client: TestClient,
    project: ProjectKey,
    clean_database: Engine,
    database_url: str,
    tmp_path: Path,
) -> None:
    events = product()
    posted = client.post("/v1/events", json=events, headers=project.auth).json()
    assert posted["accepted"] == len(events)
    expected_rows = audited(clean_database, project.id)
    expected_report = report_of(client, project, clean_database)
    expected_stats = {k: v for k, v in stats(client, project).items() if k != "project_id"}
    assert len(expected_rows) == len(events)

    for fmt, (name, write) in WRITERS.items():
        imported = make_project(clean_database, fmt)
        if fmt != "native":
            put = client.put(
                f"/v1/projects/{imported.id}/mappings", json=RULES, headers=imported.auth
            )
            assert put.status_code == 200
        path = write(tmp_path / f"{fmt}-{name}", events)
        first = run_import(clean_database, database_url, imported.id, [path])
        assert first.files == {str(path): fmt}
        assert (first.accepted, first.duplicate, sum(first.rejected.values())) == (
            len(events),
            0,
            0,
        ), fmt
        assert audited(clean_database, imported.id) == expected_rows, fmt
        counted = stats(client, imported)
        assert {k: v for k, v in counted.items() if k != "project_id"} == expected_stats, fmt
        truth = scanned(clean_database, imported.id)
        assert {k: counted[k] for k in truth} == truth, fmt
        raws = raw_count(clean_database, imported.id)
        assert raws == (0 if fmt == "native" else len(events))

        again = run_import(clean_database, database_url, imported.id, [path, path])
        assert (again.accepted, again.duplicate) == (0, 2 * len(events)), fmt
        assert audited(clean_database, imported.id) == expected_rows, fmt
        assert raw_count(clean_database, imported.id) == raws
        assert stats(client, imported) == counted, fmt
        assert report_of(client, imported, clean_database) == expected_report, fmt


def test_bad_records_are_named_counted_and_the_rest_imported(
    clean_database: Engine, database_url: str, tmp_path: Path
) -> None:
    events = product()[:40]
    lines = [orjson.dumps(r) for r in mixpanel_records(events)]
    lines[3] = b'{"event": "Spin", "properties": {"time": 1700'  # cut short
    no_time = orjson.loads(lines[5])
    del no_time["properties"]["time"]
    lines[5] = orjson.dumps(no_time)
    no_user = orjson.loads(lines[7])
    del no_user["properties"]["distinct_id"]
    lines[7] = orjson.dumps(no_user)
    path = tmp_path / "export.json.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    imported = make_project(clean_database, "partial")

    summary = run_import(clean_database, database_url, imported.id, [path], fmt="mixpanel")

    assert (summary.accepted, summary.duplicate) == (37, 0)
    assert [(e.line, e.field) for e in summary.errors] == [
        (4, ""),
        (6, "properties.time"),
        (8, "properties.distinct_id"),
    ]
    assert all(e.file == str(path) for e in summary.errors)
    assert summary.errors[0].reason.startswith("not valid JSON")
    assert summary.as_dict()["rejected_by_reason"] == {
        summary.errors[0].reason: 1,
        "properties.distinct_id: required field is missing": 1,
        "properties.time: 'properties.time' is required: seconds since epoch": 1,
    }
    assert raw_count(clean_database, imported.id) == 37


def test_the_command_imports_and_reports_as_json(
    clean_database: Engine, database_url: str, tmp_path: Path
) -> None:
    events = product()[:60]
    path = write_posthog(tmp_path / "events.parquet", events)
    bad = tmp_path / "unknown.json"
    bad.write_bytes(b'{"something": "else"}\n')
    imported = make_project(clean_database, "cli")
    env = {**os.environ, "RETENTION_AUDIT_DATABASE_URL": database_url}
    command = [sys.executable, "-m", "service.cli", "import", str(imported.id)]

    done = subprocess.run(
        [*command, str(path)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    summary = orjson.loads(done.stdout)
    assert (summary["accepted"], summary["duplicate"], summary["rejected"]) == (60, 0, 0)
    assert summary["files"] == {str(path): "posthog"}

    unknown = subprocess.run(
        [*command, str(bad)], env=env, capture_output=True, text=True, timeout=120
    )
    assert unknown.returncode == 2
    assert "cannot tell the export's format" in unknown.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "service.cli", "import", "999999", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2
    assert "no project 999999" in missing.stderr


@pytest.mark.parametrize("fmt", ["amplitude", "posthog"])
def test_a_record_without_its_time_is_rejected_not_dated_at_the_epoch(
    fmt: str, clean_database: Engine, database_url: str, tmp_path: Path
) -> None:
    imported = make_project(clean_database, f"untimed-{fmt}")
    if fmt == "amplitude":
        path = tmp_path / "untimed.json"
        path.write_bytes(orjson.dumps({"event_type": "Spin", "user_id": "u1"}) + b"\n")
        summary = run_import(clean_database, database_url, imported.id, [path], fmt=fmt)
        assert [(e.field, e.reason) for e in summary.errors] == [
            ("event_time", "required field is missing")
        ]
    else:
        path = tmp_path / "untimed.json"
        path.write_bytes(orjson.dumps({"uuid": "x", "event": "Spin", "distinct_id": "u"}) + b"\n")
        summary = run_import(clean_database, database_url, imported.id, [path])
        assert summary.files == {str(path): "posthog"}
        assert [(e.field, e.reason) for e in summary.errors] == [
            ("timestamp", "required field is missing")
        ]
    with clean_database.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Event)).scalar_one() == 0


def test_native_csv_and_json_arrays_import_and_a_bad_csv_row_is_rejected_alone(
    clean_database: Engine, database_url: str, tmp_path: Path
) -> None:
    events = product()[:12]
    header = ["message_id", "user_id", "timestamp", "mechanic", "kind", "value", "cost"]
    rows = [",".join(header)]
    for event in events:
        rows.append(",".join("" if event.get(k) is None else str(event[k]) for k in header))
    rows[3] = rows[3].replace(f",{events[2]['kind']},", f",{events[2]['kind']},lots,", 1)
    rows[3] = ",".join(rows[3].split(",")[: len(header)])  # `value` is now "lots"
    csv_path = tmp_path / "events.csv"
    csv_path.write_text("\n".join(rows) + "\n")
    imported = make_project(clean_database, "csv")

    summary = run_import(clean_database, database_url, imported.id, [csv_path], fmt="native")

    assert (summary.accepted, summary.duplicate) == (11, 0)
    assert [(e.line, e.field) for e in summary.errors] == [(4, "value")]
    assert "not a number" in summary.errors[0].reason

    array_path = tmp_path / "events.json"
    array_path.write_bytes(orjson.dumps(events))
    again = run_import(clean_database, database_url, imported.id, [array_path], fmt="native")
    assert (again.accepted, again.duplicate) == (1, 11)  # the row refused in the CSV, now sent
