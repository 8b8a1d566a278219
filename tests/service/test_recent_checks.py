"""A report read shows the verdict of a full check made at most `report_check_ttl_s` before:
an edit behind the service's back shows on reads once that time has passed, at once after a
`/verify`, and on every read when the time is 0."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from service.app import create_app
from service.reports.recent_checks import RecentChecks
from service.storage.db import make_sessionmaker, transaction
from service.storage.tables import AuditUser
from tests.service.chain_helpers import OLD, keys, stored_audit
from tests.service.conftest import ProjectKey, settings_for


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _edit_a_tier(engine: Engine, audit_id: str) -> None:
    # user-1's tier is "low" (tiers cycle none, low, medium, high)
    with transaction(make_sessionmaker(engine)) as session:
        session.execute(
            update(AuditUser)
            .where(AuditUser.audit_id == audit_id, AuditUser.user_id == "user-1")
            .where(AuditUser.mechanic == "slots")
            .values(risk_tier="none")
        )


def _shown(client: TestClient, project: ProjectKey, audit_id: str) -> tuple[str, datetime]:
    response = client.get(f"/v1/audits/{audit_id}", headers=project.auth)
    assert response.status_code == 200, response.text
    verification = response.json()["verification"]
    return verification["status"], datetime.fromisoformat(verification["checked_at"])


def test_a_read_shows_an_edit_once_the_kept_verdict_expires(
    clean_database: Engine, database_url: str, project: ProjectKey
) -> None:
    audit = stored_audit(clean_database, project.id, keys(OLD))
    clock = Clock()
    with TestClient(create_app(settings_for(database_url, report_keys=OLD))) as client:
        client.app.state.report_checks = RecentChecks(30.0, clock=clock)  # type: ignore[attr-defined]
        status, first_check = _shown(client, project, audit)
        assert status == "verified"
        _edit_a_tier(clean_database, audit)
        clock.now += 29.0
        assert _shown(client, project, audit) == ("verified", first_check)  # the kept verdict
        clock.now += 1.5
        status, second_check = _shown(client, project, audit)
        assert status == "tampered"
        assert second_check > first_check


def test_verify_drops_kept_verdicts_so_the_next_read_checks_in_full(
    clean_database: Engine, database_url: str, project: ProjectKey
) -> None:
    audit = stored_audit(clean_database, project.id, keys(OLD))
    clock = Clock()
    with TestClient(create_app(settings_for(database_url, report_keys=OLD))) as client:
        client.app.state.report_checks = RecentChecks(3_600.0, clock=clock)  # type: ignore[attr-defined]
        assert _shown(client, project, audit)[0] == "verified"
        _edit_a_tier(clean_database, audit)
        assert _shown(client, project, audit)[0] == "verified"  # kept, the clock has not moved
        verdict = client.get(f"/v1/audits/{audit}/verify", headers=project.auth).json()
        assert verdict["status"] == "tampered"
        assert _shown(client, project, audit)[0] == "tampered"


def test_with_no_time_to_keep_every_read_checks_in_full(
    clean_database: Engine, database_url: str, project: ProjectKey
) -> None:
    audit = stored_audit(clean_database, project.id, keys(OLD))
    settings = settings_for(database_url, report_keys=OLD, report_check_ttl_s=0.0)
    with TestClient(create_app(settings)) as client:
        assert _shown(client, project, audit)[0] == "verified"
        _edit_a_tier(clean_database, audit)
        assert _shown(client, project, audit)[0] == "tampered"


def test_kept_verdicts_are_bounded_and_the_least_recently_read_go_first(
    clean_database: Engine, project: ProjectKey
) -> None:
    audits = [stored_audit(clean_database, project.id, keys(OLD), users=2) for _ in range(3)]
    clock = Clock()
    checks = RecentChecks(60.0, clock=clock)
    checks.max_kept = 2
    with transaction(make_sessionmaker(clean_database)) as session:
        first = [checks.check(session, a, keys(OLD)) for a in audits]
        assert [c.verdict.status for c in first] == ["verified"] * 3
        # audits[0] was dropped for audits[2]; audits[1] and audits[2] are kept
        assert checks.check(session, audits[2], keys(OLD)) is first[2]
        assert checks.check(session, audits[1], keys(OLD)) is first[1]
        assert checks.check(session, audits[0], keys(OLD)) is not first[0]
