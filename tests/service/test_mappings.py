"""Mappings: rules, filters and defaults (pure), and `PUT/GET /v1/projects/{id}/mappings`
with the re-mapping of stored raw events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from service.ingestion.events import Rejection
from service.projects.keys import Scope
from service.storage.tables import Event
from service.vendors.adapters.common import VendorEvent
from service.vendors.mapping_rules import DEFAULTS, MappingRule, map_event
from tests.service.conftest import ProjectKey
from tests.service.factories import native_batch
from tests.service.test_adapter_common import basic, counts, extra_key

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def vendor(name: str, **properties: Any) -> VendorEvent:
    return VendorEvent(
        source="segment", message_id="m1", event_name=name, user_id="u1", ts=T0,
        properties=properties, payload={},
    )  # fmt: skip


SPIN = MappingRule(0, "Spin", "slots", "response", cost_property="bet", option_property="machine")
WIN = MappingRule(
    1, "Spin Result", "slots", "reward", filters={"won": True}, value_property="coins"
)


def test_first_matching_rule_maps_name_and_properties() -> None:
    outcome = map_event([SPIN, WIN], vendor("Spin", bet="2.5", machine=7))
    assert outcome.position == 0
    assert outcome.native is not None
    assert {k: outcome.native[k] for k in ("mechanic", "kind", "cost", "option")} == {
        "mechanic": "slots", "kind": "response", "cost": 2.5, "option": "7",
    }  # fmt: skip
    assert outcome.native["timestamp"] == T0.isoformat()


def test_filters_compare_as_json() -> None:
    assert map_event([WIN], vendor("Spin Result", won=True, coins=5)).position == 1
    assert map_event([WIN], vendor("Spin Result", won=1, coins=5)).position is None  # 1 is not true
    nested = MappingRule(0, "*", "box", "reward", filters={"box.tier": ["gold", "rare"]})
    assert map_event([nested], vendor("Open", box={"tier": "rare"})).position == 0
    assert map_event([nested], vendor("Open", box={"tier": "common"})).position is None


def test_defaults_apply_where_no_rule_matches() -> None:
    outcome = map_event([SPIN], vendor("Payout", mechanic="slots", kind="reward", value=3))
    assert outcome.position == DEFAULTS
    assert outcome.native is not None
    assert (outcome.native["kind"], outcome.native["value"]) == ("reward", 3.0)
    assert map_event([SPIN], vendor("Page Viewed", path="/")).position is None
    assert map_event([], vendor("Spin", mechanic="slots", kind="spin")).failure == Rejection(
        "properties.kind", "must be 'response' or 'reward'"
    )


def test_a_rule_that_cannot_map_says_which_property() -> None:
    outcome = map_event([SPIN], vendor("Spin", bet="a lot"))
    assert (outcome.position, outcome.native) == (0, None)
    assert outcome.failure == Rejection("properties.bet", "must be a number")


# --- the HTTP API ----------------------------------------------------------------------------


def segment(key: str, *events: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    batch = [
        {"type": "track", "messageId": mid, "event": name, "userId": "u1",
         "timestamp": "2026-05-01T12:00:00Z", "properties": props}
        for mid, name, props in events
    ]  # fmt: skip
    return {"json": {"batch": batch}, "headers": basic(key)}


def natives(engine: Engine, project_id: int) -> dict[str, tuple[Any, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Event.message_id, Event.mechanic, Event.kind, Event.value, Event.cost)
            .where(Event.project_id == project_id)
        ).all()  # fmt: skip
    return {row.message_id: tuple(row[1:]) for row in rows}


def test_unmapped_events_are_kept_raw_and_remapped_when_a_rule_arrives(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    url = f"/v1/projects/{project.id}/mappings"
    sent = segment(
        project.key,
        ("a", "Spin", {"bet": 2}),
        ("b", "Spin", {"bet": "x"}),
        ("c", "Win", {"coins": 5}),
        ("d", "Page Viewed", {}),
        ("e", "Bonus", {"mechanic": "daily", "kind": "reward", "value": 1}),
    )
    assert client.post("/v1/batch", **sent).status_code == 200
    before = client.get(url, headers=project.auth).json()
    assert (before["raw_events"], before["mapped"], before["unmapped"]) == (5, 1, 4)
    assert before["defaults"]["events"] == 1
    assert before["unmatched_event_names"][0] == {"event_name": "Spin", "events": 2}
    assert natives(clean_database, project.id) == {"e": ("daily", 1, 1.0, 0.0)}

    rules = {
        "rules": [
            {"event_name": "Spin", "mechanic": "slots", "kind": "response", "cost_property": "bet"},
            {"event_name": "Win", "mechanic": "slots", "kind": "reward", "value_property": "coins"},
        ]
    }
    after = client.put(url, json=rules, headers=project.auth)
    assert after.status_code == 200, after.text
    body = after.json()
    assert body["remapped"] == {"added": 2, "changed": 0, "removed": 0}
    assert [(r["event_name"], r["events"], r["failed"]) for r in body["rules"]] == [
        ("Spin", 1, 1),
        ("Win", 1, 0),
    ]
    assert (body["mapped"], body["unmapped"]) == (3, 2)
    assert body["unmatched_event_names"] == [{"event_name": "Page Viewed", "events": 1}]
    assert natives(clean_database, project.id) == {
        "a": ("slots", 0, 0.0, 2.0),
        "c": ("slots", 1, 5.0, 0.0),
        "e": ("daily", 1, 1.0, 0.0),
    }
    assert client.get(url, headers=project.auth).json() == {**body, "remapped": None}

    # Events arriving after the mapping are mapped on arrival; a resend stores nothing new.
    client.post("/v1/batch", **segment(project.key, ("f", "Win", {"coins": 2})))
    client.post("/v1/batch", **sent)
    assert counts(clean_database, project.id) == (4, 6)


def test_changing_or_removing_a_rule_changes_or_removes_its_events_only(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    url = f"/v1/projects/{project.id}/mappings"
    client.post("/v1/events", json=native_batch(2), headers=project.auth)
    rule = {"event_name": "Spin", "mechanic": "slots", "kind": "response"}
    client.put(url, json={"rules": [rule]}, headers=project.auth)
    client.post("/v1/batch", **segment(project.key, ("a", "Spin", {"cost": 1})))
    renamed = client.put(url, json={"rules": [{**rule, "mechanic": "wheel"}]}, headers=project.auth)
    assert renamed.json()["remapped"] == {"added": 0, "changed": 1, "removed": 0}
    assert natives(clean_database, project.id)["a"] == ("wheel", 0, 0.0, 1.0)
    cleared = client.put(url, json={"rules": []}, headers=project.auth)
    assert cleared.json()["remapped"] == {"added": 0, "changed": 0, "removed": 1}
    assert set(natives(clean_database, project.id)) == {"m0", "m1"}  # native posts untouched
    assert counts(clean_database, project.id) == (2, 1)  # the raw event stays


@pytest.mark.parametrize(
    "rule",
    [
        {"event_name": "Spin", "mechanic": "slots", "kind": "spin"},
        {"event_name": "Spin", "mechanic": "slots", "kind": "response", "value_property": "x"},
        {"event_name": "Win", "mechanic": "slots", "kind": "reward", "cost_property": "x"},
        {"event_name": "", "mechanic": "slots", "kind": "reward"},
        {"event_name": "Spin", "kind": "reward"},
        {"event_name": "Spin", "mechanic": "slots", "kind": "reward", "filters": {"a": {}}},
        {"event_name": "Spin", "mechanic": "slots", "kind": "reward", "colour": "red"},
    ],
)
def test_invalid_rules_are_refused_with_422(
    rule: dict[str, Any], client: TestClient, project: ProjectKey
) -> None:
    answer = client.put(
        f"/v1/projects/{project.id}/mappings", json={"rules": [rule]}, headers=project.auth
    )
    assert answer.status_code == 422
    assert answer.json()["error"] == "ValidationError"


def test_reading_needs_read_and_replacing_needs_manage(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    url = f"/v1/projects/{project.id}/mappings"
    reader = {"Authorization": f"Bearer {extra_key(clean_database, project.id, Scope.READ)}"}
    assert client.get(url, headers=reader).status_code == 200
    assert client.put(url, json={"rules": []}, headers=reader).status_code == 403
    assert client.get(url).status_code == 401
