"""Import benchmark: `retention-audit import` of export files against a plain `COPY` of the
same rows, side by side in one run, on PostgreSQL.

    python bench/import_files.py [--events 1000000]
    python bench/import_files.py --smoke          # small size, for CI

Writes N native events as a gzipped NDJSON file and as a Mixpanel raw export (JSON lines,
the events named by the default property names so that no mapping rule is needed), then
imports each into a project of its own (validation, dedup, raw copies for the vendor file,
project counts, COPY into staging and INSERT … ON CONFLICT DO NOTHING), imports the native file
a second time (every event already stored), and finally loads the stored rows with one
`COPY` from Python into an empty table shaped like the event table. Prints events/s for each
and their ratios to the COPY.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    copy_rate,
    fresh_database,
    native_events,
    psycopg_url,
    sqlalchemy_url,
    synthetic_log,
)
from models.columns import EVENT_FIELDS
from service.ingestion.bulk import ImportSummary, import_files
from service.projects.projects import create_project
from service.settings import Settings
from service.storage.db import make_engine, make_sessionmaker, transaction

SMOKE_EVENTS = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_EVENTS:,} events (CI)")
    args = parser.parse_args()
    n = SMOKE_EVENTS if args.smoke else args.events

    log = synthetic_log(n, users=max(n // 100, 10))
    events = native_events(log, 0, n)
    fresh_database()
    factory = make_sessionmaker(make_engine(sqlalchemy_url()))
    settings = Settings(database_url=sqlalchemy_url())
    with tempfile.TemporaryDirectory() as scratch:
        native = Path(scratch) / "events.ndjson.gz"
        native.write_bytes(gzip.compress(b"".join(orjson.dumps(e) + b"\n" for e in events)))
        mixpanel = Path(scratch) / "mixpanel.json.gz"
        mixpanel.write_bytes(gzip.compress(b"".join(_mixpanel_line(e) for e in events)))

        native_project = _project(factory, "native")
        first = _timed_import(factory, settings, native_project, native)
        again = _timed_import(factory, settings, native_project, native)
        vendor = _timed_import(factory, settings, _project(factory, "mixpanel"), mixpanel)
    copy_per_s = _copy(native_project)

    result = {
        "events": n,
        "import_native_events_per_s": first["rate"],
        "reimport_native_events_per_s": again["rate"],
        "import_mixpanel_events_per_s": vendor["rate"],
        "copy_events_per_s": round(copy_per_s),
        "ratio_import_native_to_copy": round(first["rate"] / copy_per_s, 3),
        "ratio_import_mixpanel_to_copy": round(vendor["rate"] / copy_per_s, 3),
        "native_accepted": first["accepted"],
        "reimport_accepted": again["accepted"],
        "reimport_duplicate": again["duplicate"],
        "mixpanel_accepted": vendor["accepted"],
    }
    print(json.dumps(result, indent=2))
    if first["accepted"] != n or again["duplicate"] != n or vendor["accepted"] != n:
        sys.exit("the import did not store every event exactly once")


def _mixpanel_line(event: dict[str, Any]) -> bytes:
    stamp = datetime.fromisoformat(event["timestamp"])
    properties = {
        "mechanic": event["mechanic"],
        "kind": event["kind"],
        "value": event.get("value", 0.0),
        "cost": event.get("cost", 0.0),
        "time": round(stamp.timestamp() * 1000),
        "distinct_id": event["user_id"],
        "$insert_id": event["message_id"],
    }
    return orjson.dumps({"event": event["mechanic"], "properties": properties}) + b"\n"


def _project(factory: Any, name: str) -> int:
    with transaction(factory) as session:
        project, _key = create_project(session, name=f"bench-import-{name}")
        return int(project.id)


def _timed_import(factory: Any, settings: Settings, project_id: int, path: Path) -> dict[str, Any]:
    start = time.perf_counter()
    summary: ImportSummary = import_files(
        factory, project_id=project_id, paths=[path], settings=settings
    )
    seconds = time.perf_counter() - start
    total = summary.accepted + summary.duplicate
    return {
        "rate": round(total / seconds),
        "accepted": summary.accepted,
        "duplicate": summary.duplicate,
    }


def _copy(project_id: int) -> float:
    """The stored rows, read back before the clock starts, then copied into an empty table
    shaped like the event table (same columns, constraints and indexes)."""
    columns = ", ".join(f.name for f in EVENT_FIELDS)
    with psycopg.connect(psycopg_url()) as connection:
        rows = connection.execute(
            f"SELECT project_id, {columns}, source, received_at FROM event WHERE project_id = %s",
            (project_id,),
        ).fetchall()
    return copy_rate(rows)


if __name__ == "__main__":
    main()
