"""Bar 4: events from every vendor are audited by the same code as native events.

One simulated product (`models.synthetic`, a variable-ratio slot machine and a daily reward)
is posted natively and through each vendor, each into its own project, the vendor events
named as a product would name them and turned into native events by a mapping. The stored
native events, which are all an audit reads, must be the same everywhere: user, mechanic,
kind, time, value, cost, option and the user's zone; and auditing each project gives the same
report (everything but its id, creation time and chain digests).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from models.synthetic import (
    MechanicSpec,
    PopulationSpec,
    ProductSpec,
    ScheduleSpec,
    simulate_product,
)
from service.storage.tables import Event
from tests.service.conftest import ProjectKey, finish_audit, make_project
from tests.service.test_adapter_common import basic

# How the product names its events, and the mapping that reads them.
NAMES = {
    ("slots", "response"): "Spin",
    ("slots", "reward"): "Payout",
    ("daily", "response"): "Claim Daily",
    ("daily", "reward"): "Daily Reward",
}
RULES = {
    "rules": [
        {"event_name": "Spin", "mechanic": "slots", "kind": "response", "cost_property": "bet",
         "option_property": "machine"},
        {"event_name": "Payout", "mechanic": "slots", "kind": "reward", "value_property": "coins"},
        {"event_name": "Claim Daily", "mechanic": "daily", "kind": "response"},
        {"event_name": "Daily Reward", "mechanic": "daily", "kind": "reward",
         "value_property": "gems"},
    ]
}  # fmt: skip
AMOUNT = {
    ("slots", "response"): ("cost", "bet"),
    ("slots", "reward"): ("value", "coins"),
    ("daily", "response"): ("cost", "cost"),
    ("daily", "reward"): ("value", "gems"),
}


def product() -> list[dict[str, Any]]:
    population = PopulationSpec(n_users=6, responses=(8.0, 25.0), utc_offsets_h=(0.0, 9.0))
    spec = ProductSpec(
        mechanics=(
            MechanicSpec(
                name="daily",
                schedule=ScheduleSpec(kind="fixed_interval", calendar=True, values=(1.0,)),
                population=population,
            ),
            MechanicSpec(
                name="slots",
                schedule=ScheduleSpec(kind="variable_ratio", ratio=4.0, values=(5.0,), cost=1.0),
                population=population,
            ),
        )
    )
    return simulate_product(spec, seed=7).native_events()


def as_vendor(event: dict[str, Any]) -> tuple[str, dict[str, Any], int]:
    """A native event as the product would report it to a vendor: (name, properties, ms)."""
    key = (event["mechanic"], event["kind"])
    field, prop = AMOUNT[key]
    properties: dict[str, Any] = {prop: event.get(field, 0.0), **event.get("properties", {})}
    if event.get("option") is not None:
        properties["machine"] = event["option"]
    stamp = datetime.fromisoformat(event["timestamp"])
    return NAMES[key], properties, round(stamp.timestamp() * 1000)


def post_segment(client: TestClient, key: str, events: list[dict[str, Any]]) -> None:
    batch = []
    for event in events:
        name, properties, _ms = as_vendor(event)
        batch.append(
            {"type": "track", "event": name, "userId": event["user_id"], "properties": properties,
             "messageId": event["message_id"], "timestamp": event["timestamp"]}
        )  # fmt: skip
    assert client.post("/v1/batch", json={"batch": batch}, headers=basic(key)).status_code == 200


def post_posthog(client: TestClient, key: str, events: list[dict[str, Any]]) -> None:
    batch = []
    for event in events:
        name, properties, _ms = as_vendor(event)
        batch.append(
            {"event": name, "distinct_id": event["user_id"], "properties": properties,
             "timestamp": event["timestamp"]}
        )  # fmt: skip
    answer = client.post("/batch/", json={"api_key": key, "batch": batch})
    assert answer.status_code == 200


def post_amplitude(client: TestClient, key: str, events: list[dict[str, Any]]) -> None:
    batch = []
    for event in events:
        name, properties, ms = as_vendor(event)
        batch.append(
            {"event_type": name, "user_id": event["user_id"], "time": ms,
             "insert_id": event["message_id"], "event_properties": properties}
        )  # fmt: skip
    answer = client.post("/2/httpapi", json={"api_key": key, "events": batch})
    assert answer.json()["events_ingested"] == len(events)


def post_mixpanel(client: TestClient, key: str, events: list[dict[str, Any]]) -> None:
    lines = []
    for event in events:
        name, properties, ms = as_vendor(event)
        properties |= {"distinct_id": event["user_id"], "time": ms}
        lines.append(json.dumps({"event": name, "properties": properties}))
    answer = client.post("/import", content="\n".join(lines), headers=basic(key))
    assert answer.json()["num_records_imported"] == len(events)


VENDORS = {
    "segment": post_segment,
    "posthog": post_posthog,
    "amplitude": post_amplitude,
    "mixpanel": post_mixpanel,
}


def audited(engine: Engine, project_id: int) -> list[tuple[Any, ...]]:
    """What an audit reads of a project: its native events, in a canonical order."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(Event.user_id, Event.mechanic, Event.kind, Event.ts, Event.value, Event.cost,
                   Event.option, Event.utc_offset_s, Event.delay_s)
            .where(Event.project_id == project_id)
        ).all()  # fmt: skip
    return sorted(tuple(row) for row in rows)


VOLATILE = {"id", "created_at", "digest", "previous_report_digest"}


def report_of(client: TestClient, project: ProjectKey, engine: Engine) -> dict[str, Any]:
    """Audit the project's stored events and return its report without per-run fields."""
    queued = client.post("/v1/audits", json={}, headers=project.auth).json()
    done = finish_audit(client, project, engine, queued["id"])
    assert done["status"] == "succeeded", done
    return {k: v for k, v in done["report"].items() if k not in VOLATILE}


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_product_through_a_vendor_is_the_product_posted_natively(
    vendor: str, client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    events = product()
    assert len(events) > 100
    native = client.post("/v1/events", json=events, headers=project.auth).json()
    assert native["accepted"] == len(events)

    through = make_project(clean_database, vendor)
    put = client.put(f"/v1/projects/{through.id}/mappings", json=RULES, headers=through.auth)
    assert put.status_code == 200
    VENDORS[vendor](client, through.key, events)

    expected = audited(clean_database, project.id)
    assert len(expected) == len(events)
    assert audited(clean_database, through.id) == expected
    native_report = report_of(client, project, clean_database)
    assert {m["mechanic"] for m in native_report["mechanics"]} == {"daily", "slots"}
    assert report_of(client, through, clean_database) == native_report


def test_two_vendors_give_the_same_events_whichever_arrives_before_the_mapping(
    client: TestClient, clean_database: Engine
) -> None:
    events = product()
    first, second = make_project(clean_database, "seg"), make_project(clean_database, "amp")
    # Segment's events arrive before the mapping (kept raw, then re-mapped); Amplitude's after.
    post_segment(client, first.key, events)
    client.put(f"/v1/projects/{first.id}/mappings", json=RULES, headers=first.auth)
    client.put(f"/v1/projects/{second.id}/mappings", json=RULES, headers=second.auth)
    post_amplitude(client, second.key, events)
    segment_events = audited(clean_database, first.id)
    assert len(segment_events) == len(events)
    assert segment_events == audited(clean_database, second.id)
    assert report_of(client, first, clean_database) == report_of(client, second, clean_database)
