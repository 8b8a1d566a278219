"""A project's settings over HTTP: its declared time zone, read, set, cleared, refused when not
an IANA name, and used by its audits (a request's own `time_zone` wins)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from models import synthetic
from tests.service.conftest import ADMIN_KEY, ProjectKey
from tests.service.test_audits_api import audit, post_events

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
NIGHT = "night-engagement"


def settings(client: TestClient, project: ProjectKey, **body: Any) -> dict[str, Any]:
    response = client.patch(f"/v1/projects/{project.id}", json=body, headers=project.auth)
    assert response.status_code == 200, response.text
    return dict(response.json())


def declared(client: TestClient, project: ProjectKey) -> str | None:
    zone: str | None = client.get(f"/v1/projects/{project.id}", headers=project.auth).json()[
        "time_zone"
    ]
    return zone


def test_the_owner_sets_reads_and_clears_the_time_zone(
    client: TestClient, project: ProjectKey
) -> None:
    read = client.get(f"/v1/projects/{project.id}", headers=project.auth)
    assert read.status_code == 200
    assert read.json()["time_zone"] is None
    assert read.json()["name"] == "acme"

    assert settings(client, project, time_zone="Europe/Berlin")["time_zone"] == "Europe/Berlin"
    assert declared(client, project) == "Europe/Berlin"
    # a body without the field changes nothing
    assert settings(client, project)["time_zone"] == "Europe/Berlin"
    assert settings(client, project, time_zone=None)["time_zone"] is None
    assert declared(client, project) is None


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "CEST", "../etc/passwd", ""])
def test_a_name_that_is_not_an_iana_zone_is_a_422_naming_the_field(
    client: TestClient, project: ProjectKey, zone: str
) -> None:
    settings(client, project, time_zone="Asia/Tokyo")
    response = client.patch(
        f"/v1/projects/{project.id}", json={"time_zone": zone}, headers=project.auth
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "InvalidInput"
    assert body["detail"].startswith("time_zone: unknown time zone")
    assert "IANA" in body["detail"]
    # nothing changed
    assert declared(client, project) == "Asia/Tokyo"


def test_a_wrong_type_or_an_unknown_setting_is_a_422(
    client: TestClient, project: ProjectKey
) -> None:
    for body in ({"time_zone": 3600}, {"timezone": "Europe/Berlin"}):
        response = client.patch(f"/v1/projects/{project.id}", json=body, headers=project.auth)
        assert response.status_code == 422
        assert response.json()["error"] == "ValidationError"


def test_only_a_manage_key_of_the_project_changes_its_settings(
    client: TestClient, project: ProjectKey
) -> None:
    created = client.post(
        f"/v1/projects/{project.id}/keys", json={"scopes": ["read"]}, headers=project.auth
    ).json()
    reader = {"Authorization": f"Bearer {created['key']}"}
    assert client.get(f"/v1/projects/{project.id}", headers=reader).status_code == 200
    denied = client.patch(
        f"/v1/projects/{project.id}", json={"time_zone": "Europe/Berlin"}, headers=reader
    )
    assert denied.status_code == 403
    other = client.post("/v1/projects", json={"name": "other"}, headers=ADMIN).json()
    foreign = {"Authorization": f"Bearer {other['key']}"}
    assert client.get(f"/v1/projects/{project.id}", headers=foreign).status_code == 403
    assert (
        client.patch(
            f"/v1/projects/{project.id}", json={"time_zone": None}, headers=foreign
        ).status_code
        == 403
    )
    assert declared(client, project) is None


def test_the_admin_may_declare_the_zone_at_creation(client: TestClient) -> None:
    created = client.post(
        "/v1/projects", json={"name": "zoned", "time_zone": "America/Sao_Paulo"}, headers=ADMIN
    )
    assert created.status_code == 201
    assert created.json()["time_zone"] == "America/Sao_Paulo"
    listed = client.get("/v1/projects", headers=ADMIN).json()
    assert [(p["name"], p["time_zone"]) for p in listed] == [("zoned", "America/Sao_Paulo")]
    refused = client.post(
        "/v1/projects", json={"name": "nowhere", "time_zone": "Nowhere/Land"}, headers=ADMIN
    )
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("time_zone:")
    assert [p["name"] for p in client.get("/v1/projects", headers=ADMIN).json()] == ["zoned"]


def zulu_events() -> list[dict[str, Any]]:
    """The demo product as an SDK sends it: `Z` timestamps, no zone offsets."""
    events = synthetic.demo_native_events(seed=7, n_users=40)
    for event in events:
        event.pop("properties", None)
    return events


def night_unassessable(report: dict[str, Any]) -> set[str]:
    return {
        item["mechanic"]
        for mechanic in report["mechanics"]
        for item in mechanic["not_assessable"]
        if item["rule_id"] == NIGHT
    }


def test_audits_use_the_declared_zone_unless_their_request_sets_one(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    post_events(client, project, zulu_events())
    mechanics = {"daily_reward", "quests", "slots"}

    unknown = audit(client, project, clean_database)["report"]
    assert unknown["config"]["analysis"]["time_zone"] is None
    assert night_unassessable(unknown) == mechanics
    assert all(m["markers"]["night_share"] is None for m in unknown["mechanics"])

    settings(client, project, time_zone="Europe/Berlin")
    declared = audit(client, project, clean_database)
    assert declared["request"] == {}  # the request stays as it was sent
    report = declared["report"]
    assert report["config"]["analysis"]["time_zone"] == "Europe/Berlin"
    assert night_unassessable(report) == set()
    assert all(m["markers"]["night_share"] is not None for m in report["mechanics"])

    # the request's own config wins: another zone, or null for none
    tokyo = audit(client, project, clean_database, config={"time_zone": "Asia/Tokyo"})["report"]
    assert tokyo["config"]["analysis"]["time_zone"] == "Asia/Tokyo"
    assert night_unassessable(tokyo) == set()
    assert [m["markers"]["night_share"] for m in tokyo["mechanics"]] != [
        m["markers"]["night_share"] for m in report["mechanics"]
    ]
    none = audit(client, project, clean_database, config={"time_zone": None})["report"]
    assert none["config"]["analysis"]["time_zone"] is None
    assert night_unassessable(none) == mechanics

    # a stored report keeps the zone it used after the project's changes
    settings(client, project, time_zone=None)
    again = client.get(f"/v1/audits/{declared['id']}", headers=project.auth).json()["report"]
    assert again["config"]["analysis"]["time_zone"] == "Europe/Berlin"
    verified = client.get(f"/v1/audits/{declared['id']}/verify", headers=project.auth).json()
    assert verified["valid"] is True, verified
