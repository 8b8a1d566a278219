"""`retention-audit chain export`: the chain entries as NDJSON, appended to a file only after
the entries it holds still match the database; and a real audit run by a worker with
`RETENTION_AUDIT_REPORT_KEYS` set is stored signed and served as verified."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete

from service.settings import get_settings
from service.storage.db import make_sessionmaker, transaction
from service.storage.tables import Report
from tests.service.chain_helpers import NEW, OLD, app_with_keys, keys, rewrite_chain, stored_audit
from tests.service.conftest import ProjectKey, settings_for
from tests.service.servers import BIN
from tests.service.test_audits_api import audit, demo_events, post_events


def _export(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "retention-audit"), "chain", "export", *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
    )


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_export_appends_new_entries_and_refuses_a_rewritten_chain(
    clean_database: Engine, database_url: str, project: ProjectKey, tmp_path: Path
) -> None:
    audits = [stored_audit(clean_database, project.id, keys(OLD)) for _ in range(2)]
    printed = _export(database_url, str(project.id))
    assert printed.returncode == 0, printed.stderr
    entries = [orjson.loads(line) for line in printed.stdout.splitlines()]
    assert [(e["sequence"], e["audit_id"], e["key_id"]) for e in entries] == [
        (1, audits[0], "k1"),
        (2, audits[1], "k1"),
    ]
    assert entries[1]["previous_digest"] == entries[0]["digest"]
    with TestClient(app_with_keys(database_url, OLD)) as client:
        head = client.get(f"/v1/projects/{project.id}/chain/head", headers=project.auth).json()
    assert entries[-1] == head

    out = tmp_path / "chain.ndjson"
    assert _export(database_url, str(project.id), "--out", str(out)).returncode == 0
    assert _lines(out) == entries
    again = _export(database_url, str(project.id), "--out", str(out))
    assert again.returncode == 0
    assert "0 entries appended" in again.stderr
    third = stored_audit(clean_database, project.id, keys(OLD))
    assert _export(database_url, str(project.id), "--out", str(out)).returncode == 0
    exported = _lines(out)
    assert [e["audit_id"] for e in exported] == [*audits, third]
    assert exported[:2] == entries  # appended, the earlier lines untouched

    before = out.read_bytes()
    rewrite_chain(clean_database, project.id, {"findings": [{"rule_id": "forged"}]})
    refused = _export(database_url, str(project.id), "--out", str(out))
    assert refused.returncode == 1
    assert "line 1 (report 1) differs from the stored chain in digest" in refused.stderr
    assert out.read_bytes() == before


def test_export_names_a_deleted_newest_report_and_bad_arguments(
    clean_database: Engine, database_url: str, project: ProjectKey, tmp_path: Path
) -> None:
    audits = [stored_audit(clean_database, project.id, keys(OLD)) for _ in range(2)]
    out = tmp_path / "chain.ndjson"
    assert _export(database_url, str(project.id), "--out", str(out)).returncode == 0
    with transaction(make_sessionmaker(clean_database)) as session:
        session.execute(delete(Report).where(Report.audit_id == audits[1]))
    refused = _export(database_url, str(project.id), "--out", str(out))
    assert refused.returncode == 1
    assert "line 2 (report 2" in refused.stderr
    assert "no longer stored: the chain holds 1 reports" in refused.stderr
    unknown = _export(database_url, str(project.id + 1000))
    assert unknown.returncode == 2
    assert f"no project {project.id + 1000}" in unknown.stderr
    garbage = tmp_path / "garbage.ndjson"
    garbage.write_text('{"digest": "x"}\n{"trunc')
    unreadable = _export(database_url, str(project.id), "--out", str(garbage))
    assert unreadable.returncode == 2
    assert "line 2: not a JSON chain entry" in unreadable.stderr


@pytest.fixture
def report_keys_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The worker signs with the keys of its environment, as in production."""
    monkeypatch.setenv("RETENTION_AUDIT_REPORT_KEYS", f"{NEW},{OLD}")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_a_real_audit_is_stored_signed_and_served_verified(
    report_keys_env: None, clean_database: Engine, database_url: str, project: ProjectKey
) -> None:
    with TestClient(app_with_keys(database_url, f"{NEW},{OLD}")) as client:
        assert settings_for(database_url).signing_keys().signer is not None
        post_events(client, project, demo_events()[:3000])
        done = audit(client, project, clean_database)
        assert done["verification"]["status"] == "verified"
        assert done["verification"]["key_id"] == "k2"
        users = sum(m["users"]["count"] for m in done["report"]["mechanics"])
        assert users > 0
        assert done["verification"]["rows"] == users
        verdict = client.get(f"/v1/audits/{done['id']}/verify", headers=project.auth).json()
        assert (verdict["status"], verdict["valid"]) == ("verified", True)
