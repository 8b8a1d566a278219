"""`retention-audit audit FILE…`: formats, exit statuses, and bad input named by file and line."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from models import synthetic
from tests.service.factories import write_csv
from tests.service.servers import BIN


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    return synthetic.demo_native_events(seed=5, n_users=40)


def audit(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "retention-audit"), "audit", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def write_ndjson(path: Path, events: list[dict[str, Any]], *, compress: bool = False) -> Path:
    body = b"\n".join(orjson.dumps(e) for e in events) + b"\n"
    path.write_bytes(gzip.compress(body) if compress else body)
    return path


def test_the_same_events_as_ndjson_gzip_json_and_csv_give_one_report(
    events: list[dict[str, Any]], tmp_path: Path
) -> None:
    half = len(events) // 2
    # Split across two files of different formats: the files together are the input.
    split = audit(
        write_ndjson(tmp_path / "a.ndjson.gz", events[:half], compress=True),
        write_csv(tmp_path / "b.csv", events[half:]),
    )
    whole = tmp_path / "all.json"
    whole.write_bytes(orjson.dumps(events))
    single = audit(whole)
    assert split.returncode == single.returncode == 0, split.stderr + single.stderr
    a, b = json.loads(split.stdout), json.loads(single.stdout)
    assert a["input"] == b["input"]
    assert a["mechanics"] == b["mechanics"]
    assert a["findings"] == b["findings"]
    assert a["user_results"] == b["user_results"]


def test_fail_on_and_formats(events: list[dict[str, Any]], tmp_path: Path) -> None:
    path = write_ndjson(tmp_path / "events.ndjson", events)
    report = json.loads(audit(path).stdout)
    worst = max(
        report["findings"],
        key=lambda f: ["info", "low", "medium", "high", "critical"].index(f["severity"]),
    )
    assert worst["severity"] in ("high", "critical")  # the demo's slot machine
    assert audit(path, "--fail-on", "high").returncode == 3
    assert audit(path, "--fail-on", "critical").returncode == (
        3 if worst["severity"] == "critical" else 0
    )
    markdown = audit(path, "--format", "markdown")
    assert markdown.returncode == 0
    assert "# Retention Audit report" in markdown.stdout
    assert "variable_ratio" in markdown.stdout
    out = tmp_path / "report.html"
    assert audit(path, "--format", "html", "--out", out).returncode == 0
    assert out.read_text().startswith("<!doctype html>")


def test_bad_input_exits_2_naming_file_line_and_reason(
    events: list[dict[str, Any]], tmp_path: Path
) -> None:
    lines = [orjson.dumps(e).decode() for e in events[:20]]
    lines[4] = json.dumps({**events[4], "kind": "spin"})
    lines[9] = '{"user_id": "u1", oops'
    path = tmp_path / "bad.ndjson"
    path.write_text("\n".join(lines) + "\n")
    result = audit(path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"{path}:5: kind:" in result.stderr
    assert f"{path}:10: not valid JSON" in result.stderr
    assert audit(tmp_path / "missing.ndjson").returncode == 2
    assert audit(path, "--config", '{"session_gap_s": -1}').returncode == 2


def test_time_zone_declares_local_time_for_events_without_offsets(
    events: list[dict[str, Any]], tmp_path: Path
) -> None:
    zulu = [{k: v for k, v in e.items() if k != "properties"} for e in events]
    path = write_ndjson(tmp_path / "zulu.ndjson", zulu)
    reports = {}
    for zone in (None, "Europe/Berlin"):
        result = audit(path, *(["--time-zone", zone] if zone else []))
        assert result.returncode == 0, result.stderr
        reports[zone] = json.loads(result.stdout)
    for zone, report in reports.items():
        assert report["config"]["analysis"]["time_zone"] == zone
        night = [
            item
            for mechanic in report["mechanics"]
            for item in mechanic["not_assessable"]
            if item["rule_id"] == "night-engagement"
        ]
        assert len(night) == (len(report["mechanics"]) if zone is None else 0)
    overridden = audit(
        path, "--time-zone", "Europe/Berlin", "--config", '{"time_zone": "Asia/Tokyo"}'
    )
    assert json.loads(overridden.stdout)["config"]["analysis"]["time_zone"] == "Asia/Tokyo"
    refused = audit(path, "--time-zone", "Europe/Nowhere")
    assert refused.returncode == 2
    assert "time_zone: unknown time zone 'Europe/Nowhere'" in refused.stderr


def test_standard_input_parquet_and_skip_invalid(
    events: list[dict[str, Any]], tmp_path: Path
) -> None:
    """`-` reads standard input (gzip recognised by its bytes), a Parquet file is read beside
    it, and --skip-invalid leaves a bad row out, names it on stderr and counts it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    half = len(events) // 2
    lines = [orjson.dumps(e) for e in events[:half]]
    lines[2] = orjson.dumps({**events[2], "kind": "spin"})
    parquet = tmp_path / "rest.parquet"
    keys = list(dict.fromkeys(key for event in events for key in event))  # null: not sent
    pq.write_table(
        pa.Table.from_pylist([{k: e.get(k) for k in keys} for e in events[half:]]), parquet
    )
    stdin = gzip.compress(b"\n".join(lines))

    def run(*flags: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [str(BIN / "retention-audit"), "audit", "-", str(parquet), *flags],
            input=stdin,
            capture_output=True,
            timeout=300,
        )

    refused = run()
    assert refused.returncode == 2
    assert b"<stdin>:3: kind: Input should be 'response' or 'reward'" in refused.stderr
    skipped = run("--skip-invalid")
    assert skipped.returncode == 0, skipped.stderr
    assert b"skipped <stdin>:3: kind:" in skipped.stderr
    report = json.loads(skipped.stdout)
    assert report["input"]["skipped"] == 1
    assert report["input"]["events"] == len(events) - 1


def test_the_progress_bar_moves_on_a_terminal_and_is_silent_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    import sys

    from service.cli.offline_audit import _progress_bar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with _progress_bar() as progress:
        assert progress is not None
        progress("read 1,000 events", 10, 100)
        progress("read 6,000 events", 60, 100)
        progress("fits", 1, 4)
    shown = terminal.getvalue()
    for seen in ("read 1,000 events:  10%", "read 6,000 events:  60%", "fits:  25%"):
        assert seen in shown
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with _progress_bar() as progress:
        assert progress is None
