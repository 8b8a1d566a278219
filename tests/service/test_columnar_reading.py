"""Event files read as arrays: every format gives the arrays and the report the per-event path
gives, and the vectorised screen with the per-event validator rejects the same events with the
same field and reason, named by file and line (or row)."""

from __future__ import annotations

import gzip
import io
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from models import synthetic
from models.canonical import InputSummary, columns_from_fields
from models.columns import ARRAY_FIELDS, OFFSET_UNKNOWN, EventColumns
from service.audits.offline import audit_files
from service.audits.planning import plan_audit
from service.ingestion.columnar import BadInput, InputError, Limits, collect, read_batches
from service.ingestion.events import EventRecord, EventRejected, validate_event
from service.ingestion.formats import parquet_item
from service.ingestion.payloads import loads
from service.ingestion.screen import normalise, screen
from service.ingestion.sources import sources
from service.storage.reading import records_to_fields
from tests.service.factories import native_event, write_csv
from tests.service.test_events import BAD_FIELDS
from tests.service.test_events import NOW as EVENTS_NOW
from tests.service.test_hostile_input import BAD_NATIVE

NOW = datetime(2026, 12, 1, tzinfo=UTC)
LIMITS = Limits(NOW)


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    """The demo product, with what the screen leaves to the per-event validator mixed in:
    other spellings of the time, a zone name, events without a message id (one sent twice)
    and a message id sent twice with other content (the first is kept)."""
    demo = synthetic.demo_native_events(seed=5, n_users=30)
    extra = [
        native_event(1, timestamp=1_777_636_800_500),
        native_event(2, timestamp=1_777_636_800.25, message_id="m-epoch-seconds"),
        native_event(3, timestamp="2026-05-01T21:00:00.5+09:00", message_id="m-tokyo"),
        native_event(4, timestamp="2026-05-01 12:00:00.123456-05:00", message_id="m-space"),
        native_event(5, timestamp="2026-05-01T12:00:00.1234567Z", message_id="m-seven-digits"),
        native_event(6, properties={"timezone": "Europe/Berlin"}, message_id="m-zone"),
        native_event(7, properties={"delay_s": 30, "note": "x"}, message_id="m-delay"),
        {k: v for k, v in native_event(8).items() if k != "message_id"},
        {k: v for k, v in native_event(8).items() if k != "message_id"},
        {k: v for k, v in native_event(10, properties={"a": 1}).items() if k != "message_id"},
        native_event(9, message_id=demo[0]["message_id"], user_id="someone-else"),
    ]
    return demo + extra


def per_event(
    items: list[Any], now: datetime = NOW
) -> tuple[EventColumns, InputSummary, list[tuple[str, str]]]:
    """The reference: each item through `validate_event`, first of each message id kept."""
    kept: dict[str, EventRecord] = {}
    faults = []
    for item in items:
        try:
            record = validate_event(item, now=now, future_tolerance_s=86_400.0)
        except EventRejected as exc:
            faults.append((exc.rejection.field, exc.rejection.reason))
            continue
        kept.setdefault(record.message_id, record)
    columns, summary = columns_from_fields(records_to_fields(list(kept.values())))
    return columns, summary, faults


def columnar(*inputs: str) -> tuple[EventColumns, InputSummary, list[InputError]]:
    faults: list[InputError] = []
    columns, summary = collect(
        read_batches(sources(list(inputs)), limits=LIMITS, on_error=faults.append)
    )
    return columns, summary, faults


def assert_same(a: EventColumns, b: EventColumns) -> None:
    for field in ARRAY_FIELDS:
        x, y = getattr(a, str(field.array)), getattr(b, str(field.array))
        assert x.dtype == y.dtype, field.name
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), field.name
    assert (a.user_ids, a.mechanics, a.options) == (b.user_ids, b.mechanics, b.options)


def ndjson(events: list[Any]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in events)


def write_parquet(path: Path, events: list[dict[str, Any]]) -> Path:
    """Columns as an export would type them: text, numbers, a typed UTC time, a struct."""
    rows = [dict(e) for e in events if isinstance(e["timestamp"], str)]
    table = pa.Table.from_pylist(rows)
    stamps = pa.array(
        [datetime.fromisoformat(r["timestamp"]) for r in rows], pa.timestamp("us", tz="UTC")
    )
    pq.write_table(
        table.set_column(table.schema.get_field_index("timestamp"), "timestamp", stamps), path
    )
    return path


def test_every_format_gives_the_arrays_of_the_per_event_path(
    events: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected, summary, faults = per_event(events)
    assert not faults
    assert summary.events == len(events) - 2  # a repeated id, a repeated event without one
    (tmp_path / "events.ndjson").write_bytes(ndjson(events))
    (tmp_path / "events.ndjson.gz").write_bytes(gzip.compress(ndjson(events)))
    (tmp_path / "events.json").write_bytes(orjson.dumps(events))
    half = len(events) // 2
    (tmp_path / "split-1.jsonl").write_bytes(ndjson(events[:half]))
    (tmp_path / "split-2.jsonl").write_bytes(gzip.compress(ndjson(events[half:])))
    write_csv(tmp_path / "events.csv", events)
    import fsspec

    with fsspec.open("memory://bucket/events.ndjson.gz", "wb") as remote:
        remote.write(gzip.compress(ndjson(events)))
    for inputs in (
        [tmp_path / "events.ndjson"],
        [tmp_path / "events.ndjson.gz"],
        [tmp_path / "events.json"],
        [tmp_path / "events.csv"],
        [tmp_path / "split-*.jsonl"],
        ["memory://bucket/*.ndjson.gz"],
        [f"file://{tmp_path}/events.ndjson"],
    ):
        columns, read, found = columnar(*map(str, inputs))
        assert not found, (inputs, found)
        assert read == summary, inputs
        assert_same(columns, expected)
    stdin = io.TextIOWrapper(io.BytesIO(gzip.compress(ndjson(events))))
    monkeypatch.setattr(sys, "stdin", stdin)
    columns, read, _ = columnar("-")
    assert read == summary
    assert_same(columns, expected)


def test_parquet_gives_the_arrays_of_the_per_event_path(
    events: list[dict[str, Any]], tmp_path: Path
) -> None:
    """A typed time holds no zone offset: each row as the event it spells (`parquet_item`)."""
    path = write_parquet(tmp_path / "events.parquet", events)
    expected, summary, _ = per_event([parquet_item(row) for row in pq.read_table(path).to_pylist()])
    assert summary.events == len(events) - 4  # epoch numbers are not written as typed times
    columns, read, found = columnar(str(path))
    assert not found
    assert read == summary
    assert_same(columns, expected)


def test_the_report_is_the_per_event_paths(events: list[dict[str, Any]], tmp_path: Path) -> None:
    from service.audits.runner import analyse_events

    plan = plan_audit({})
    expected, summary, _ = per_event(events)
    body, _ = analyse_events(expected, summary, plan)
    path = tmp_path / "events.ndjson"
    path.write_bytes(ndjson(events))
    report = audit_files([str(path)], plan)
    volatile = {"created_at", "id", "digest", "previous_report_digest", "user_results"}
    assert {k: v for k, v in report.items() if k not in volatile} == {
        k: v for k, v in body.items() if k != "created_at"
    }


def the_screen_passes(items: list[dict[str, Any]], now: datetime = NOW) -> np.ndarray:
    """The screen's verdict on items as a Parquet file would hold them (null: not sent)."""
    keys = list(dict.fromkeys(key for item in items for key in item))
    table = pa.Table.from_pylist([{key: item.get(key) for key in keys} for item in items])
    columns, odd = normalise(table)
    return screen(columns, odd, now=now, future_tolerance_s=86_400.0).passed


def test_the_screen_itself_passes_ordinary_events(events: list[dict[str, Any]]) -> None:
    """Not a fallback: the vectorised checks accept the demo's events by themselves."""
    demo = [e for e in events if isinstance(e["timestamp"], str) and "message_id" in e]
    assert the_screen_passes(demo[:2000]).all()


@pytest.mark.parametrize(("overrides", "field", "reason_part"), BAD_FIELDS)
def test_bad_fields_are_refused_alike(
    overrides: dict[str, Any], field: str, reason_part: str
) -> None:
    """Each bad event of the per-event tests, among good ones: not passed by the screen where
    it can be typed with them, and named with the same field and reason as `validate_event`."""
    ordinary = [native_event(i) for i in range(6)]
    bad = native_event(0, **overrides, message_id="bad")
    batch = [*ordinary[:3], bad, *ordinary[3:]]
    try:
        passed = the_screen_passes(batch, EVENTS_NOW)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        passed = None  # a value pyarrow cannot type with the others: read line by line
    if passed is not None:
        assert passed.tolist() == [True] * 3 + [False] + [True] * 3
    _, _, (refused,) = per_event(batch, EVENTS_NOW)
    assert refused[0] == field
    assert reason_part in refused[1]
    # as a file (JSON has no NaN: orjson writes null), against the per-event path of its lines
    lines = [orjson.dumps(e) for e in batch]
    _, _, expected = per_event([loads(line) for line in lines], EVENTS_NOW)
    found = read_text(b"\n".join(lines), EVENTS_NOW)
    assert [(f.line, f.field, f.reason) for f in found] == [(4, *refusal) for refusal in expected]


@pytest.mark.parametrize("case", BAD_NATIVE)
def test_hostile_events_are_refused_alike(case: str, tmp_path: Path) -> None:
    raw, field, reason = BAD_NATIVE[case]
    lines = [orjson.dumps(native_event(i)) for i in range(5)]
    lines.insert(2, raw)
    text = b"\n".join(lines) + b"\n"
    _, _, expected = per_event([loads(line) for line in lines])
    assert len(expected) == 1
    assert expected[0][0] == field
    assert reason in expected[0][1]
    assert [(f.line, f.field, f.reason) for f in read_text(text)] == [(3, *expected[0])]


def read_text(text: bytes, now: datetime = NOW) -> list[InputError]:
    """The faults the columnar reader finds in an NDJSON file (on fsspec's memory file system)."""
    import fsspec

    with fsspec.open("memory://hostile/events.ndjson", "wb") as f:
        f.write(text)
    found: list[InputError] = []
    batches = read_batches(
        sources(["memory://hostile/events.ndjson"]), limits=Limits(now), on_error=found.append
    )
    lines = [line for line in text.split(b"\n") if line.strip()]
    assert sum(batch.num_rows for batch in batches) == len(lines) - len(found)
    return found


def test_bad_rows_are_named_by_file_and_line_or_row(tmp_path: Path) -> None:
    good = [native_event(i) for i in range(6)]
    bad_kind = {**native_event(6), "kind": "spin"}
    lines = [orjson.dumps(e).decode() for e in [*good, bad_kind]]
    lines.insert(3, '{"user_id": "u1", oops')
    path = tmp_path / "bad.ndjson"
    path.write_text("\n".join(lines) + "\n\n")
    _, read, found = columnar(str(path))
    assert read.events == 6
    assert [str(f) for f in found] == [
        f"{path}:4: not valid JSON: {_json_error(lines[3])}",
        f"{path}:8: kind: Input should be 'response' or 'reward'",
    ]
    table = write_csv(tmp_path / "bad.csv", [*good, bad_kind, {**native_event(7), "cost": "x"}])
    _, _, found = columnar(str(table))
    assert [str(f) for f in found] == [
        f"{table}:8: kind: Input should be 'response' or 'reward'",
        f"{table}:9: could not convert string to float: 'x'",
    ]
    parquet = write_parquet(tmp_path / "bad.parquet", [*good, bad_kind])
    _, _, found = columnar(str(parquet))
    assert [str(f) for f in found] == [f"{parquet}:7: kind: Input should be 'response' or 'reward'"]


def _json_error(line: str) -> str:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return exc.msg
    raise AssertionError(line)


def test_skip_invalid_counts_the_rows_left_out(tmp_path: Path) -> None:
    events = synthetic.demo_native_events(seed=3, n_users=10)
    lines = [orjson.dumps(e) for e in events]
    lines[5] = b'{"oops'
    lines[9] = orjson.dumps({**events[9], "cost": -1.0})
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join(lines))
    plan = plan_audit({})
    with pytest.raises(BadInput) as refused:
        audit_files([str(path)], plan)
    assert [(e.line, e.field) for e in refused.value.errors] == [(6, ""), (10, "cost")]
    skipped: list[InputError] = []
    report = audit_files([str(path)], plan, skip_invalid=True, on_skipped=skipped.append)
    assert report["input"]["skipped"] == 2 == len(skipped)
    assert report["input"]["events"] == len(events) - 2
    kept = [e for i, e in enumerate(events) if i not in (5, 9)]
    clean = tmp_path / "clean.ndjson"
    clean.write_bytes(ndjson(kept))
    unflagged = audit_files([str(clean)], plan)
    assert "skipped" not in unflagged["input"]
    assert unflagged["input"]["digest"] == report["input"]["digest"]
    with pytest.raises(BadInput):  # a missing file is refused even when rows may be skipped
        audit_files([str(tmp_path / "missing.ndjson")], plan, skip_invalid=True)


def test_progress_moves_with_the_bytes_read_then_the_analysis(
    events: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import service.ingestion.formats as formats

    monkeypatch.setattr(formats, "CHUNK_BYTES", 64 * 1024)  # several batches of a small file
    path = tmp_path / "events.ndjson"
    path.write_bytes(ndjson(events))
    seen: list[tuple[str, int, int]] = []
    audit_files([path], plan_audit({}), progress=lambda *step: seen.append(step))
    reads = [(stage, done, total) for stage, done, total in seen if stage.startswith("read ")]
    assert len(reads) > 3
    assert [done for _, done, _ in reads] == sorted(done for _, done, _ in reads)
    assert reads[-1][1] == reads[-1][2] == path.stat().st_size
    assert reads[-1][0] == f"read {len(events):,} events"  # validated rows, before duplicates go
    after = [stage for stage, _, _ in seen[len(reads) :]]
    assert after[0] == "ordering events"
    assert "fits" in after


SPELLINGS = [
    "2026-05-01T12:00:00Z", "2026-05-01T12:00:00.5Z", "2026-05-01T12:00:00.123456Z",
    "2026-05-01 12:00:00+09:00", "2026-05-01T12:00:00.25-05:30", "2026-05-01T12:00:00-00:00",
    "2024-02-29T23:59:59+14:00", "1970-01-01T00:00:00Z", "1970-01-01T00:00:00+01:00",
    "2026-02-29T12:00:00Z", "2026-13-01T12:00:00Z", "2026-05-01T24:00:00Z",
    "2026-05-01T12:60:00Z", "2026-05-01T12:00:60Z", "2026-05-01T12:00:00+14:01",
    "2026-05-01T12:00:00+24:00", "2026-05-01T12:00:00.Z", "2026-05-01T12:00:00.1234567Z",
    "2026-05-01T12:00:00z", "2026-05-01t12:00:00Z", "2026-05-01T12:00:00+0900",
    "2026-05-01T12:00:00", "2026-5-01T12:00:00Z", "２026-05-01T12:00:00Z", "20260501T120000Z",
    "2026-05-01T12:00:00Z ", " 2026-05-01T12:00:00Z", "2026-05-01T12:00:00.12x4Z",
]  # fmt: skip
COMMON = 8  # the first ones: what the screen must read by itself


def test_times_the_screen_reads_are_read_as_the_per_event_validator_reads_them() -> None:
    items = [native_event(i, timestamp=stamp) for i, stamp in enumerate(SPELLINGS)]
    passed = the_screen_passes(items)
    assert passed[:COMMON].all()
    for item, screened in zip(items, passed, strict=True):
        try:
            record = validate_event(item, now=NOW, future_tolerance_s=86_400.0)
        except EventRejected:
            record = None
        if screened:  # what the screen passes, the validator accepts: with the same values
            assert record is not None, item["timestamp"]
            columns, _, found = columnar_of([item])
            assert not found
            assert columns.t[0] == record.ts.timestamp()
            offset = columns.utc_offset_s[0]
            assert (None if offset == OFFSET_UNKNOWN else offset) == record.utc_offset_s


def columnar_of(items: list[dict[str, Any]]) -> tuple[EventColumns, InputSummary, list[Any]]:
    faults: list[InputError] = []
    table = pa.Table.from_pylist(items)
    columns, odd = normalise(table)
    verdict = screen(columns, odd, now=NOW, future_tolerance_s=86_400.0)
    assert verdict.passed.all()
    read = collect(read_batches(sources_of(items), limits=LIMITS, on_error=faults.append))
    return *read, faults


def sources_of(items: list[dict[str, Any]]) -> list[Any]:
    import fsspec

    with fsspec.open("memory://spellings/events.ndjson", "wb") as f:
        f.write(ndjson(items))
    return sources(["memory://spellings/events.ndjson"])
