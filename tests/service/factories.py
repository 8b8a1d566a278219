"""Plain functions that make native events for tests."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from models.synthetic import demo_spec, simulate_product

BASE_TIME = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def native_event(i: int, **overrides: Any) -> dict[str, Any]:
    """A valid event: users u0..u9 alternate responses and rewards on `slots`."""
    kind = "response" if i % 2 == 0 else "reward"
    event: dict[str, Any] = {
        "user_id": f"u{i % 10}",
        "timestamp": (BASE_TIME + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
        "mechanic": "slots",
        "kind": kind,
        "message_id": f"m{i}",
    }
    if kind == "response":
        event["cost"] = 1.0
    else:
        event["value"] = float(i % 7)
    event.update(overrides)
    return event


def native_batch(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [native_event(i) for i in range(start, start + n)]


def ndjson(events: list[Any]) -> bytes:
    return b"\n".join(orjson.dumps(e) for e in events) + b"\n"


def gzip_ndjson(events: list[Any]) -> bytes:
    return gzip.compress(ndjson(events))


def product_change() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A product changed for a review pipeline: A's events (a daily reward and quests), and
    the slot machine's events B adds."""
    spec = demo_spec(40)
    before = dataclasses.replace(spec, mechanics=spec.mechanics[:2])
    product_a = simulate_product(before, 1).native_events(id_prefix="a")
    slots = [
        e
        for e in simulate_product(spec, 1).native_events(id_prefix="b")
        if e["mechanic"] == "slots"
    ]
    return product_a, slots


def write_csv(path: Path, events: list[dict[str, Any]]) -> Path:
    """Native events as a CSV file: a header row, `properties` as JSON text, a field not sent
    as an empty cell."""
    fields = ["user_id", "timestamp", "mechanic", "kind", "value", "cost", "option", "session_id",
              "message_id", "properties"]  # fmt: skip
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for e in events:
            row = {k: e.get(k) for k in fields}
            row["properties"] = json.dumps(e["properties"]) if e.get("properties") else None
            writer.writerow(row)
    return path
