"""A review pipeline: audit a product (A), ingest a change to it (a paid slot machine, a
variable ratio), audit again (B); the diff names the new `variable-ratio-reward` finding, the
exports carry the per-user rows, and the command-line gate passes A's export and fails B's,
naming the finding."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from models.rules import DEFAULT_TABLE
from tests.service.conftest import ProjectKey
from tests.service.factories import ndjson, product_change
from tests.service.servers import BIN
from tests.service.test_audits_api import audit, post_events

NEW = ("variable-ratio-reward", "slots")


@pytest.fixture(scope="module")
def products() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return product_change()


def keys(findings: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(f["rule_id"], f["mechanic"]) for f in findings}


def test_the_diff_names_the_new_finding_and_the_exports_carry_the_rows(
    client: TestClient,
    project: ProjectKey,
    clean_database: Engine,
    products: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    product_a, slots = products
    post_events(client, project, product_a)
    a = audit(client, project, clean_database)["report"]
    assert NEW not in keys(a["findings"])
    post_events(client, project, slots)
    b = audit(client, project, clean_database)["report"]
    assert NEW in keys(b["findings"])

    answer = client.get(f"/v1/audits/{b['id']}/diff", headers=project.auth)
    assert answer.status_code == 200, answer.text
    diff = answer.json()
    assert (diff["before_id"], diff["after_id"]) == (a["id"], b["id"])
    # the daily reward and the quests read the same events in both audits: nothing of theirs
    # changed, so every change is the slot machine's
    assert NEW in keys(diff["new_findings"])
    assert {f["mechanic"] for f in diff["new_findings"]} == {"slots"}
    assert diff["resolved_findings"] == diff["changed_severity"] == diff["marker_moves"] == []
    assert diff["schedule_changes"] == [
        {"mechanic": "slots", "before": None, "after": "variable_ratio"}
    ]
    explicit = client.get(
        f"/v1/audits/{b['id']}/diff", params={"against": a["id"]}, headers=project.auth
    )
    assert explicit.json() == diff
    itself = client.get(
        f"/v1/audits/{b['id']}/diff", params={"against": b["id"]}, headers=project.auth
    ).json()
    assert itself["new_findings"] == itself["schedule_changes"] == itself["marker_moves"] == []
    first = client.get(f"/v1/audits/{a['id']}/diff", headers=project.auth)
    assert first.status_code == 409
    for against, status in (("00000000-0000-4000-8000-000000000000", 404), ("nope", 422)):
        refused = client.get(
            f"/v1/audits/{b['id']}/diff", params={"against": against}, headers=project.auth
        )
        assert refused.status_code == status, refused.text

    summary = client.get(f"/v1/audits/{b['id']}/summary.md", headers=project.auth)
    assert summary.headers["content-type"].startswith("text/markdown")
    assert "## Changes since the previous audit" in summary.text
    assert "- **new** critical `variable-ratio-reward` (slots)" in summary.text
    assert "| mechanics | all |" in summary.text
    assert summary.text.startswith("### ➖ Retention Audit: ")  # no threshold: no verdict
    gated = client.get(
        f"/v1/audits/{b['id']}/summary.md", params={"fail_on": "high"}, headers=project.auth
    )
    assert gated.text.startswith("### ❌ Retention Audit: ")
    assert "gate failed: " in gated.text
    assert "variable-ratio-reward (slots)" in gated.text
    lenient = client.get(
        f"/v1/audits/{a['id']}/summary.md", params={"fail_on": "critical"}, headers=project.auth
    )
    assert lenient.text.startswith("### ✅ Retention Audit: ")
    wrong = client.get(
        f"/v1/audits/{b['id']}/summary.md", params={"fail_on": "severe"}, headers=project.auth
    )
    assert wrong.status_code == 422
    assert "fail_on" in wrong.text
    page = client.get(f"/v1/audits/{b['id']}/report.html", headers=project.auth).text
    assert page.index('id="scope"') < page.index('id="severity-summary"') < page.index("changes")

    rows = client.get(f"/v1/audits/{b['id']}/users", params={"limit": 1000}, headers=project.auth)
    served = rows.json()["items"]
    assert rows.json()["next_cursor"] is None
    csv_text = client.get(f"/v1/audits/{b['id']}/users.csv", headers=project.auth).text
    lines = csv_text.splitlines()
    assert len(lines) == len(served) + 1
    header = lines[0].split(",")
    assert header[:4] == ["user_id", "mechanic", "responses", "alpha"]
    assert "alpha_ci.low" in header
    assert "markers.night_share" in header
    parquet = client.get(f"/v1/audits/{b['id']}/users.parquet", headers=project.auth)
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.num_rows == len(served)
    assert table.column_names == header
    assert table.column("user_id").to_pylist() == [r["user_id"] for r in served]
    assert table.column("responses").to_pylist() == [r["responses"] for r in served]
    assert table.column("alpha_ci.high").to_pylist() == [r["alpha_ci"][1] for r in served]


def cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "retention-audit"), *map(str, args)], capture_output=True, text=True, timeout=600
    )


def test_the_gate_passes_a_and_fails_b_naming_the_finding(
    products: tuple[list[dict[str, Any]], list[dict[str, Any]]], tmp_path: Path
) -> None:
    product_a, slots = products
    export_a, export_b = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    export_a.write_bytes(ndjson(product_a))
    export_b.write_bytes(ndjson(product_a + slots))
    report_a = tmp_path / "a.json"
    passed = cli("audit", export_a, "--fail-on", "high", "--out", report_a)
    assert passed.returncode == 0, passed.stderr
    assert passed.stderr == (
        f"retention-audit: report written to {report_a}; gate passed: no finding at or above "
        "--fail-on high; exit 0\n"
    )
    report_b, junit, users = tmp_path / "b.json", tmp_path / "junit.xml", tmp_path / "b.parquet"
    failed = cli(
        "audit", export_b, "--fail-on", "high", "--out", report_b, "--junit", junit,
        "--users", users,
    )  # fmt: skip
    assert failed.returncode == 3, failed.stderr
    b = json.loads(report_b.read_text())
    vr = next(f for f in b["findings"] if (f["rule_id"], f["mechanic"]) == NEW)
    assert vr["severity"] == "critical"
    confidence = DEFAULT_TABLE.rule("variable-ratio-reward").threshold("min_confidence")
    assert (
        f"retention-audit: FAILED variable-ratio-reward on slots: severity critical >= "
        f"--fail-on high; thresholds min_confidence={confidence:g}"
    ) in failed.stderr
    failing = [f for f in b["findings"] if f["severity"] in ("high", "critical")]
    last = failed.stderr.splitlines()[-1]
    assert last.startswith(
        f"retention-audit: report written to {report_b}; gate failed: {len(failing)} finding(s) "
        "at or above --fail-on high: variable-ratio-reward (slots)"
    )
    assert last.endswith("; exit 3")

    suites = ET.parse(junit).getroot()
    cases = suites.findall("./testsuite/testcase")
    assert len(cases) == len(DEFAULT_TABLE.rules) * len(b["mechanics"])
    failures = {(c.get("name"), c.get("classname")) for c in cases if c.find("failure") is not None}
    assert failures == keys(failing)
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert len(skipped) == sum(len(m["not_assessable"]) for m in b["mechanics"])
    assert pq.read_table(users).num_rows == len(b["user_results"])

    summary = cli(
        "audit", export_b, "--format", "markdown-summary", "--against", report_a,
        "--fail-on", "high",
    )  # fmt: skip
    assert summary.returncode == 3
    assert summary.stdout.startswith("### ❌ Retention Audit: ")
    assert "- **new** critical `variable-ratio-reward` (slots)" in summary.stdout
    assert "- **schedule** slots: absent → variable_ratio" in summary.stdout
    changes = json.loads(cli("diff", report_a, report_b).stdout)
    assert NEW in keys(changes["new_findings"])
