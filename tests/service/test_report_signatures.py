"""Signed chain entries: a chain rewritten with fresh digests, a deleted newest report, key
rotation, unsigned storage and unreadable bodies, over HTTP and through the functions."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine, delete, text, update

from service.reports.chain import digest_of
from service.reports.signing import ChainEntry, ReportKeys, sign
from service.reports.verification import verify_chain, verify_report
from service.settings import Settings
from service.storage.db import make_sessionmaker, transaction
from service.storage.tables import Report
from tests.service.chain_helpers import (
    NEW,
    OLD,
    app_with_keys,
    keys,
    rewrite_chain,
    stored_audit,
)
from tests.service.conftest import ProjectKey


@pytest.fixture
def signed_client(clean_database: Engine, database_url: str) -> Iterator[TestClient]:
    with TestClient(app_with_keys(database_url, OLD)) as client:
        yield client


def _verify(client: TestClient, project: ProjectKey, audit_id: str, **params: str) -> dict:  # type: ignore[type-arg]
    response = client.get(f"/v1/audits/{audit_id}/verify", params=params, headers=project.auth)
    assert response.status_code == 200, response.text
    body: dict = response.json()  # type: ignore[type-arg]
    return body


def test_the_signature_is_hmac_sha256_of_the_documented_entry() -> None:
    entry = ChainEntry(7, 3, "a-1", "sha256:" + "ab" * 32, None, "sha256:" + "cd" * 32)
    message = (
        '["retention-audit/report/v1",7,3,"a-1","sha256:' + "ab" * 32 + '",null,"sha256:'
        + "cd" * 32 + '"]'
    )  # fmt: skip
    secret = OLD.partition(":")[2].encode()
    expected = hmac.new(secret, message.encode(), hashlib.sha256).digest()
    assert sign(entry, keys(OLD).keys[0]) == "v1," + base64.b64encode(expected).decode()


def test_report_keys_are_checked_when_settings_load() -> None:
    assert [k.key_id for k in Settings(report_keys=f"{NEW}, {OLD}").signing_keys().keys] == [
        "k2",
        "k1",
    ]
    assert Settings(report_keys=None).signing_keys().signer is None
    for bad, named in (
        ("k1", "report key 1"),
        ("k1:short", "'k1'"),
        (f"{OLD},{OLD}", "listed twice"),
        ("bad id:" + "x" * 40, "report key 1"),
    ):
        with pytest.raises(ValidationError) as error:
            Settings(report_keys=bad)
        assert named in str(error.value)
        assert "x" * 40 not in str(error.value)
        assert "old-secret" not in str(error.value)


def test_a_signed_chain_verifies_and_a_rewritten_one_does_not(
    signed_client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    first = stored_audit(clean_database, project.id, keys(OLD))
    second = stored_audit(clean_database, project.id, keys(OLD))
    verdict = _verify(signed_client, project, second)
    assert (verdict["status"], verdict["valid"], verdict["reports_checked"]) == (
        "verified", True, 2,
    )  # fmt: skip
    shown = signed_client.get(f"/v1/audits/{first}", headers=project.auth).json()
    assert shown["verification"]["status"] == "verified"
    assert shown["verification"]["key_id"] == "k1"
    assert shown["verification"]["rows"] == 9  # 6 users of slots, 3 of chest

    # Rewrite both bodies and recompute every digest and link: the partial-edit checks pass,
    # only the signatures can tell.
    rewrite_chain(clean_database, project.id, {"findings": [{"rule_id": "forged"}]})
    verdict = _verify(signed_client, project, second)
    assert verdict["status"] == "tampered"
    assert verdict["valid"] is False
    assert [(p["audit_id"], p["status"]) for p in verdict["problems"]] == [
        (first, "tampered"),
        (second, "tampered"),
    ]
    assert "signature does not match" in verdict["problems"][0]["problem"]
    shown = signed_client.get(f"/v1/audits/{second}", headers=project.auth).json()
    assert shown["verification"]["status"] == "tampered"
    assert shown["report"]["findings"] == [{"rule_id": "forged"}]  # served, but flagged
    with transaction(make_sessionmaker(clean_database)) as session:
        assert (
            verify_chain(session, project_id=project.id, upto_audit_id=second, keys=keys(OLD))[
                "status"
            ]
            == "tampered"
        )


def test_a_rewritten_unsigned_chain_is_only_unsigned(
    client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    """Without a key the service says so: a rewrite with fresh digests cannot be told apart."""
    first = stored_audit(clean_database, project.id, ReportKeys(()))
    second = stored_audit(clean_database, project.id, ReportKeys(()))
    with transaction(make_sessionmaker(clean_database)) as session:
        stored = session.get(Report, first)
        assert stored is not None
        assert stored.signature is None
        assert stored.signature_key_id is None
    for _ in range(2):
        verdict = _verify(client, project, second)
        assert (verdict["status"], verdict["valid"], verdict["unsigned"]) == ("unsigned", True, 2)
        shown = client.get(f"/v1/audits/{second}", headers=project.auth).json()["verification"]
        assert shown["status"] == "unsigned"
        assert shown["key_id"] is None
        assert "stored unsigned" in shown["detail"]
        assert shown["rows"] == 9
        rewrite_chain(clean_database, project.id, {"findings": [{"rule_id": "forged"}]})


def test_key_rotation_keeps_old_reports_verifiable_until_the_old_key_is_removed(
    clean_database: Engine, database_url: str, project: ProjectKey
) -> None:
    old = stored_audit(clean_database, project.id, keys(OLD))
    rotated = keys(f"{NEW},{OLD}")
    new = stored_audit(clean_database, project.id, rotated)
    with transaction(make_sessionmaker(clean_database)) as session:
        assert verify_report(session, old, rotated).key_id == "k1"
        assert verify_report(session, new, rotated).key_id == "k2"
        assert (
            verify_chain(session, project_id=project.id, upto_audit_id=new, keys=rotated)["status"]
            == "verified"
        )
    with TestClient(app_with_keys(database_url, f"{NEW},{OLD}")) as client:
        assert _verify(client, project, new)["status"] == "verified"
    with TestClient(app_with_keys(database_url, NEW)) as client:
        verdict = _verify(client, project, new)
        assert (verdict["status"], verdict["valid"]) == ("unknown_key", False)
        assert [(p["audit_id"], p["status"]) for p in verdict["problems"]] == [(old, "unknown_key")]
        shown = client.get(f"/v1/audits/{old}", headers=project.auth).json()["verification"]
        assert shown["status"] == "unknown_key"
        assert "'k1'" in shown["detail"]
        assert (
            client.get(f"/v1/audits/{new}", headers=project.auth).json()["verification"]["status"]
            == "verified"
        )
    # The same id with another secret is a signature that does not match.
    other = "k1:another-secret-0123456789abcdefghijklmnopqrstu"
    with transaction(make_sessionmaker(clean_database)) as session:
        assert verify_report(session, old, keys(other)).status == "tampered"


def test_the_head_and_the_audit_row_reveal_a_deleted_newest_report(
    signed_client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    audits = [stored_audit(clean_database, project.id, keys(OLD)) for _ in range(3)]
    head = signed_client.get(f"/v1/projects/{project.id}/chain/head", headers=project.auth)
    assert head.status_code == 200
    entry = head.json()
    with transaction(make_sessionmaker(clean_database)) as session:
        newest = session.get(Report, audits[2])
        assert newest is not None
        assert entry == {
            "project_id": project.id, "sequence": 3, "audit_id": audits[2],
            "digest": newest.digest, "previous_digest": newest.previous_digest,
            "rows_digest": newest.rows_digest, "key_id": "k1", "signature": newest.signature,
            "created_at": newest.created_at.isoformat().replace("+00:00", "Z"),
        }  # fmt: skip
    assert entry["digest"] == digest_of(newest.body.encode())
    # An earlier head is still in the chain: fine, and the reports after it are counted.
    second = signed_client.get(f"/v1/audits/{audits[1]}", headers=project.auth).json()
    verdict = _verify(signed_client, project, audits[0], head=second["report"]["digest"])
    assert verdict["status"] == "verified"
    assert verdict["reports_checked"] == 2
    assert verdict["head"] == {
        "digest": second["report"]["digest"], "status": "earlier", "sequence": 2,
        "reports_after": 1,
    }  # fmt: skip

    with transaction(make_sessionmaker(clean_database)) as session:
        session.execute(delete(Report).where(Report.audit_id == audits[2]))
    # Through the published head:
    verdict = _verify(signed_client, project, audits[1], head=entry["digest"])
    assert (verdict["status"], verdict["valid"]) == ("incomplete", False)
    assert verdict["head"]["status"] == "missing"
    assert {p["status"] for p in verdict["problems"]} == {"missing"}
    assert any(entry["digest"] in p["problem"] for p in verdict["problems"])
    # and through the audit row, which still says succeeded:
    verdict = _verify(signed_client, project, audits[1])
    assert verdict["status"] == "incomplete"
    assert verdict["problems"] == [
        {"audit_id": audits[2], "sequence": None, "status": "missing",
         "problem": f"audit {audits[2]} succeeded, but its report is not stored: it was deleted"},
    ]  # fmt: skip
    assert _verify(signed_client, project, audits[2])["status"] == "incomplete"
    shown = signed_client.get(f"/v1/audits/{audits[2]}", headers=project.auth).json()
    assert shown["report"] is None
    assert shown["verification"]["status"] == "missing"
    new_head = signed_client.get(f"/v1/projects/{project.id}/chain/head", headers=project.auth)
    assert new_head.json()["sequence"] == 2
    bad = signed_client.get(
        f"/v1/audits/{audits[1]}/verify", params={"head": "abc"}, headers=project.auth
    )
    assert bad.status_code == 422
    assert [d["field"] for d in bad.json()["detail"]] == ["query.head"]


def test_a_deleted_report_inside_the_chain_is_named(
    signed_client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    audits = [stored_audit(clean_database, project.id, keys(OLD)) for _ in range(3)]
    with transaction(make_sessionmaker(clean_database)) as session:
        session.execute(delete(Report).where(Report.audit_id == audits[1]))
    verdict = _verify(signed_client, project, audits[2])
    assert verdict["status"] == "incomplete"
    assert [(p["sequence"], p["status"]) for p in verdict["problems"]] == [
        (3, "missing"),
        (None, "missing"),
    ]
    assert "report 2 of the chain is missing" in verdict["problems"][0]["problem"]


def test_the_chain_head_needs_the_projects_key(
    signed_client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    empty = signed_client.get(f"/v1/projects/{project.id}/chain/head", headers=project.auth)
    assert empty.status_code == 404
    other = signed_client.get(f"/v1/projects/{project.id + 1}/chain/head", headers=project.auth)
    assert other.status_code == 403
    assert signed_client.get(f"/v1/projects/{project.id}/chain/head").status_code == 401


@pytest.mark.parametrize(
    "stored",
    [
        "[1, 2]",
        '"a string"',
        "42",
        "not json",
        '{"status": "succ',
        "",
        "null",
        "[" * 2000 + "]" * 2000,
        '{"a": 1e400}',
    ],
)
def test_a_body_that_is_not_a_json_object_is_reported_not_a_500(
    signed_client: TestClient, project: ProjectKey, clean_database: Engine, stored: str
) -> None:
    first = stored_audit(clean_database, project.id, keys(OLD))
    second = stored_audit(clean_database, project.id, keys(OLD))
    with transaction(make_sessionmaker(clean_database)) as session:
        session.execute(update(Report).where(Report.audit_id == first).values(body=stored))
    verdict = _verify(signed_client, project, second)
    assert verdict["status"] == "tampered"
    assert verdict["problems"][0]["problem"].endswith("its content does not match its digest")
    # with its digest recomputed to match, it is unreadable
    with transaction(make_sessionmaker(clean_database)) as session:
        session.execute(
            update(Report).where(Report.audit_id == first).values(digest=digest_of(stored.encode()))
        )
    verdict = _verify(signed_client, project, second)
    assert (verdict["status"], verdict["problems"][0]["status"]) == ("tampered", "unreadable")
    shown = signed_client.get(f"/v1/audits/{first}", headers=project.auth)
    assert shown.status_code == 200
    assert shown.json()["report"] is None
    assert shown.json()["verification"]["status"] == "unreadable"
    page = signed_client.get(f"/v1/audits/{first}/report.html", headers=project.auth)
    assert page.status_code == 409
    assert "unreadable" in page.json()["detail"]


def test_a_body_that_is_not_utf8_is_reported_on_sqlite(
    signed_client: TestClient, project: ProjectKey, clean_database: Engine
) -> None:
    """PostgreSQL refuses such text; SQLite stores whatever bytes it is given."""
    if clean_database.dialect.name != "sqlite":
        pytest.skip("PostgreSQL stores only valid UTF-8 text")
    audit = stored_audit(clean_database, project.id, keys(OLD))
    with clean_database.begin() as connection:
        connection.execute(
            text("UPDATE report SET body = CAST(x'7bff7d' AS TEXT) WHERE audit_id = :a"),
            {"a": audit},
        )
    verdict = _verify(signed_client, project, audit)
    assert verdict["status"] == "tampered"
    shown = signed_client.get(f"/v1/audits/{audit}", headers=project.auth)
    assert shown.status_code == 200
    assert shown.json()["verification"]["status"] == "tampered"


def test_the_openapi_types_the_verification(signed_client: TestClient) -> None:
    schema = signed_client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert "ReportCheck" in orjson.dumps(components["AuditView"]).decode()
    assert "checked_at" in components["ReportCheck"]["required"]
    assert set(components["ReportCheck"]["properties"]["status"]["anyOf"][0]["enum"]) == {
        "verified", "unsigned", "unknown_key", "tampered", "unreadable",
    }  # fmt: skip
    head = schema["paths"]["/v1/projects/{project_id}/chain/head"]["get"]
    assert head["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ChainEntryRead"
    }
    assert "head" in {
        p["name"] for p in schema["paths"]["/v1/audits/{audit_id}/verify"]["get"]["parameters"]
    }
