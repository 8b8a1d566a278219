"""Reports pinned to their content: the same events and configuration give the same report
across any change that is not meant to change a finding or a figure.

Each case audits a simulated product through the service's own path (canonical order and
digest, plan, analysis, the report body and the stored per-user records) and compares the
result with the one recorded in `golden/CASE.json.gz`. The fields that name the moment and the
machine (`created_at`, `engine`, `engine_version`) are left out. Everything but a float must be
equal; a float must agree to a relative 10⁻⁵ (or within 10⁻⁹ of zero). On one machine the
report is the same to the bit (the compiled kernels run without fast-math, and the tests of
partitions and of the parallel pool compare digests); from one machine to another, the
simulated events can differ in their last bit (numpy's exp and log follow the CPU's vector
instructions; the input digest is therefore left out here), and the population fits' optimiser
stops where its tolerance lets it, which the BLAS kernels the CPU selects move by up to about
10⁻⁶ relative. A deliberate change of the report's content re-records these files in the same commit
(`python tests/service/test_report_golden.py`) and says why.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from models.columns import EventColumns
from models.synthetic import rule_scenarios, simulate_demo, simulate_product
from service.audits.runner import analyse_events, plan_audit
from service.reports.chain import canonical_json, encode_user_record
from service.storage.reading import canonical_events
from validation.fieldsim import field_benchmark, null_products, simulate_field

VOLATILE = ("created_at", "engine", "engine_version")

CASES: dict[str, tuple[Callable[[], EventColumns], dict[str, Any]]] = {
    "demo": (lambda: simulate_demo(0).events, {}),
    "demo-in-a-zone": (
        lambda: simulate_demo(1).events,
        {"mechanics": [], "config": {"time_zone": "America/New_York"}},
    ),
    "rule-scenarios": (lambda: simulate_product(rule_scenarios(), 3).events, {}),
    "field-product": (lambda: simulate_field(field_benchmark(0)[0], 0).columns, {}),
    "field-null-product": (lambda: simulate_field(null_products(0)[0], 0).columns, {}),
}

GOLDEN = Path(__file__).parent / "golden"
RELATIVE = 1e-5


def report_content(columns: EventColumns, request: dict[str, Any]) -> dict[str, Any]:
    micros = np.round(columns.t * 1_000_000).astype(np.int64)
    canonical, summary = canonical_events(columns, micros)
    body, records = analyse_events(canonical, summary, plan_audit(request))
    kept = {k: v for k, v in body.items() if k not in VOLATILE}
    # the simulators draw through numpy's vectorised exp and log, whose last bit follows the
    # CPU's vector instructions: the events (so their digest) can differ by one unit in the
    # last place from machine to machine, while every figure agrees within RELATIVE
    kept["input"] = {k: v for k, v in kept["input"].items() if k != "digest"}
    users = [orjson.loads(encode_user_record(record)) for record in records]
    content: dict[str, Any] = orjson.loads(canonical_json({"report": kept, "users": users}))
    return content


def differences(got: Any, want: Any, path: str = "") -> Iterator[str]:
    """Where two decoded reports differ beyond a float's tolerance."""
    if isinstance(got, float) and isinstance(want, float):
        if not math.isclose(got, want, rel_tol=RELATIVE, abs_tol=1e-9):
            yield f"{path}: {got!r} != {want!r}"
    elif isinstance(got, dict) and isinstance(want, dict):
        if got.keys() != want.keys():
            yield f"{path}: keys {sorted(got.keys() ^ want.keys())} differ"
        for key in got.keys() & want.keys():
            yield from differences(got[key], want[key], f"{path}.{key}")
    elif isinstance(got, list) and isinstance(want, list):
        if len(got) != len(want):
            yield f"{path}: {len(got)} items != {len(want)}"
        for i, (a, b) in enumerate(zip(got, want, strict=False)):
            yield from differences(a, b, f"{path}[{i}]")
    elif type(got) is not type(want) or got != want:
        yield f"{path}: {got!r} != {want!r}"


def recorded(case: str) -> Any:
    return orjson.loads(gzip.decompress((GOLDEN / f"{case}.json.gz").read_bytes()))


@pytest.mark.parametrize("case", sorted(CASES))
def test_report_content_is_pinned(case: str) -> None:
    make, request = CASES[case]
    found = list(differences(report_content(make(), request), recorded(case)))
    assert not found, f"{len(found)} differences, first: {found[:5]}"


def test_differences_sees_a_moved_figure_and_ignores_rounding() -> None:
    want = {"a": [1.0, {"b": 0.25, "c": "x"}], "n": 3}
    assert not list(differences({"a": [1.0 + 1e-9, {"b": 0.25, "c": "x"}], "n": 3}, want))
    assert list(differences({"a": [1.001, {"b": 0.25, "c": "x"}], "n": 3}, want))
    assert list(differences({"a": [1.0, {"b": 0.25, "c": "y"}], "n": 3}, want))
    assert list(differences({"a": [1.0, {"b": 0.25, "c": "x"}], "n": 3.0}, want))
    assert list(differences({"a": [1.0], "n": 3}, want))


if __name__ == "__main__":  # re-record the reports after a deliberate change
    GOLDEN.mkdir(exist_ok=True)
    for name, (make, request) in sorted(CASES.items()):
        data = orjson.dumps(report_content(make(), request), option=orjson.OPT_SORT_KEYS)
        (GOLDEN / f"{name}.json.gz").write_bytes(gzip.compress(data, mtime=0))
