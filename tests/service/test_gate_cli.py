"""`retention-audit audit` as a gate: an audit over nothing never passes (exit 4, the scope
named on stderr), whatever `--fail-on` says; a scope that matched some of its mechanics still
writes its report but does not pass; and `diff` of two files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.service.factories import native_batch, ndjson
from tests.service.servers import BIN


def audit(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "retention-audit"), "audit", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gate") / "slots.ndjson"
    path.write_bytes(ndjson(native_batch(40)))
    return path


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ((), "all mechanics, all time"),
        (("--mechanic", "spinn"), "mechanics 'spinn', all time"),
        (
            ("--from", "2020-01-01T00:00:00Z", "--to", "2020-02-01T00:00:00Z"),
            "all mechanics, from 2020-01-01T00:00:00+00:00 to 2020-02-01T00:00:00+00:00",
        ),
    ],
    ids=["empty-file", "typo-mechanic", "window-before-events"],
)
@pytest.mark.parametrize("fail_on", [None, "info", "critical"])
def test_an_audit_over_nothing_exits_4_and_never_passes(
    events: Path, tmp_path: Path, options: tuple[str, ...], named: str, fail_on: str | None
) -> None:
    path = events
    if not options:
        path = tmp_path / "empty.ndjson"
        path.write_bytes(b"")
    out = tmp_path / "report.json"
    gate = ("--fail-on", fail_on) if fail_on else ()
    result = audit(path, *options, *gate, "--out", out, "--junit", tmp_path / "junit.xml")
    assert result.returncode == 4, result.stderr
    assert result.stdout == ""
    assert f"no events matched the audit's scope ({named})" in result.stderr
    assert "exit 4" in result.stderr
    assert not out.exists()
    # no report, but the gate's JUnit XML shows the run failed, and why
    failure = ET.parse(tmp_path / "junit.xml").getroot().find("./testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == f"no events matched the audit's scope ({named})"
    summary = tmp_path / "summary.md"
    commented = audit(path, *options, "--format", "markdown-summary", "--out", summary)
    assert commented.returncode == 4
    assert summary.read_text().startswith("### ❌ Retention Audit: nothing audited\n")


def test_a_partly_matching_scope_writes_no_report_and_exits_empty(
    events: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    result = audit(events, "--mechanic", "slots", "--mechanic", "spinn", "--out", out)
    assert result.returncode == 4, result.stderr
    assert not out.exists()
    assert (
        "no events matched mechanic(s) 'spinn' of the audit's scope (mechanics 'slots', 'spinn', "
        "all time)"
    ) in result.stderr
    whole = audit(events, "--mechanic", "slots", "--out", out)
    assert whole.returncode == 0, whole.stderr
    assert whole.stderr == (
        f"retention-audit: report written to {out}; audited (no --fail-on: the gate does not "
        "judge findings); exit 0\n"
    )


def test_bad_export_paths_exit_2_before_auditing(events: Path, tmp_path: Path) -> None:
    refused = audit(events, "--users", tmp_path / "rows.xlsx")
    assert refused.returncode == 2
    assert "per-user rows are written as .ndjson, .csv or .parquet" in refused.stderr
    missing = audit(events, "--against", tmp_path / "nowhere.json")
    assert missing.returncode == 2
    assert "--against" in missing.stderr
    malformed = tmp_path / "malformed.json"
    malformed.write_text(json.dumps({"findings": [{"rule_id": "r", "mechanic": "m"}]}))
    refused = audit(events, "--against", malformed)
    assert refused.returncode == 2, refused.stderr
    assert "Traceback" not in refused.stderr
    assert f"--against {malformed}: not a JSON report: findings[0].severity: missing" in (
        refused.stderr
    )


def test_diff_of_two_files(tmp_path: Path) -> None:
    before = {"id": "a", "findings": [{"rule_id": "r", "mechanic": "m", "severity": "low"}]}
    after = {"id": "b", "findings": [{"rule_id": "r", "mechanic": "m", "severity": "high"}]}
    paths = []
    for name, report in (("a.json", before), ("b.json", after)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(report))
    command = [str(BIN / "retention-audit"), "diff", *map(str, paths)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    diff = json.loads(result.stdout)
    assert diff["changed_severity"] == [
        {"rule_id": "r", "mechanic": "m", "before": "low", "after": "high"}
    ]
    assert diff["new_findings"] == diff["resolved_findings"] == []
    markdown = subprocess.run(
        [*command, "--format", "markdown"], capture_output=True, text=True, check=True
    ).stdout
    assert "## Changes since the previous audit (`a`)" in markdown
    assert "- **severity** `r` (m): low → high" in markdown
    (tmp_path / "bad.json").write_text("[1]")
    refused = subprocess.run(
        [str(BIN / "retention-audit"), "diff", str(paths[0]), str(tmp_path / "bad.json")],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2
    assert "not a JSON report" in refused.stderr
    # malformed reports: refused naming the file and the field, never a traceback
    flag = {"mechanic": "m", "markers": {"user_flags": {"loss_chasing": {"tested": 9}}}}
    for body, field in (
        ({"findings": [{"mechanic": "m", "severity": "low"}]}, "findings[0].rule_id: missing"),
        ({"findings": [], "mechanics": [flag]}, "user_flags.loss_chasing.flagged: missing"),
        ({"findings": [{**before["findings"][0], "severity": "dire"}]}, "findings[0].severity"),
    ):
        malformed = tmp_path / "malformed.json"
        malformed.write_text(json.dumps(body))
        for args in (("diff", paths[0], malformed), ("diff", malformed, paths[0])):
            result = subprocess.run(
                [str(BIN / "retention-audit"), *map(str, args)], capture_output=True, text=True
            )
            assert result.returncode == 2, result.stderr
            assert "Traceback" not in result.stderr
            assert f"{malformed}: not a JSON report: " in result.stderr
            assert field in result.stderr
