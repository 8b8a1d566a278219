"""The report's types describe the reports the analysis makes: a report validated and dumped
is the same JSON, byte for byte (canonical and in key order), and a mistyped one is refused."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from models import synthetic
from models.markers.glossary import GLOSSARY, report_names
from service.app import create_app
from service.audits.offline import audit_files
from service.audits.runner import plan_audit
from service.audits.scope import NothingToAudit
from service.reports.model import OfflineReport, Report, ReportBody, UserRow

PRODUCTS = {
    "demo": (synthetic.demo_spec(60), 1, {}),
    "rules": (synthetic.rule_scenarios(40), 2, {"config": {"time_zone": "Europe/Berlin"}}),
    "partitioned": (
        synthetic.demo_spec(30),
        3,
        {"config": {"partition_events": 1000, "session_gap_s": 900, "rules": {}}},
    ),
}


def _report(tmp_path: Path, name: str) -> dict[str, Any]:
    spec, seed, request = PRODUCTS[name]
    events = synthetic.simulate_product(spec, seed).native_events(id_prefix=name)
    path = tmp_path / f"{name}.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events))
    return audit_files([path], plan_audit(request))


def _round_trip(model: type[ReportBody] | type[OfflineReport], body: dict[str, Any]) -> None:
    dumped = model.model_validate(body).model_dump(by_alias=True, exclude_unset=True)
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    assert orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS) == canonical
    assert orjson.dumps(dumped) == orjson.dumps(body)  # key order too


@pytest.fixture(scope="module", params=sorted(PRODUCTS))
def report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _report(tmp_path_factory.mktemp("report"), request.param)


def test_a_report_is_its_model_byte_for_byte(report: dict[str, Any]) -> None:
    assert report["mechanics"]
    assert report["user_results"]
    _round_trip(OfflineReport, report)
    stored = {k: v for k, v in report.items() if k != "user_results"}
    _round_trip(Report, stored)
    body = {k: v for k, v in stored.items() if k not in ("id", "previous_report_digest", "digest")}
    _round_trip(ReportBody, body)
    for row in report["user_results"]:
        assert UserRow.model_validate(row).model_dump(by_alias=True) == row


def test_a_report_carries_the_glossary_of_every_figure_it_shows(report: dict[str, Any]) -> None:
    names = report_names(report)
    assert "magnitude_cv" in names
    assert list(report["glossary"]) == names
    assert report["glossary"] == {name: GLOSSARY[name].as_dict() for name in names}
    findings = [f for m in report["mechanics"] for f in m["findings"]]
    assert findings
    for finding in findings:
        assert finding["criteria"]
        assert finding["severity_steps"][-1]["severity"] == finding["severity"]
        assert {c["marker"] for c in finding["criteria"]} <= set(report["glossary"])


def test_no_events_make_no_report(tmp_path: Path) -> None:
    path = tmp_path / "none.ndjson"
    path.write_bytes(b"")
    with pytest.raises(NothingToAudit, match=r"\(all mechanics, all time\)"):
        audit_files([path], plan_audit({}))


def _mistyped(report: dict[str, Any], change: Any) -> dict[str, Any]:
    body = copy.deepcopy(report)
    change(body)
    return body


@pytest.mark.parametrize(
    "change",
    [
        # a count as a float, a figure as an integer, a string as a number
        lambda r: r["mechanics"][0]["markers"].__setitem__("spenders", 3.0),
        lambda r: r["mechanics"][0]["schedule"].__setitem__("confidence", 1),
        lambda r: r["input"].__setitem__("events", "12"),
        # a key missing, a key too many, a tier that does not exist
        lambda r: r["mechanics"][0].pop("charts"),
        lambda r: r["mechanics"][0]["users"].__setitem__("unexpected", 1),
        lambda r: r["user_results"][0].__setitem__("risk_tier", "extreme"),
        lambda r: r["findings"].append({"rule_id": "x"}),
        # a comparison the rules do not make, a severity step without its reason
        lambda r: r["findings"][0]["criteria"][0].__setitem__("comparison", "≈"),
        lambda r: r["findings"][0]["severity_steps"][0].pop("reason"),
        lambda r: r["glossary"]["magnitude_cv"].pop("unit"),
    ],
)
def test_a_mistyped_report_is_refused(report: dict[str, Any], change: Any) -> None:
    with pytest.raises(ValidationError):
        OfflineReport.model_validate(_mistyped(report, change))


def test_openapi_describes_every_json_body() -> None:
    schema = create_app().openapi()
    undescribed = [
        f"{method.upper()} {path}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for code, response in operation["responses"].items()
        if code.startswith("2")
        and response.get("content", {}).get("application/json", {"schema": True})["schema"] == {}
    ]
    assert undescribed == []
    audits = schema["paths"]["/v1/audits/{audit_id}"]["get"]["responses"]["200"]
    assert audits["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/AuditView"
    }
    assert "Report" in schema["components"]["schemas"]
    assert "ChainVerification" in schema["components"]["schemas"]
    assert "UsersPage" in schema["components"]["schemas"]
    finding = schema["components"]["schemas"]["Finding"]["properties"]
    assert "criteria" in finding
    assert "severity_steps" in finding
    criterion = schema["components"]["schemas"]["Criterion"]["properties"]
    assert set(criterion) >= {"marker", "value", "comparison", "threshold", "unit"}
    assert "glossary" in schema["components"]["schemas"]["Report"]["properties"]
    assert "GlossaryEntry" in schema["components"]["schemas"]
