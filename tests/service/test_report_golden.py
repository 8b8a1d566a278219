"""Reports pinned to their bytes: the same events and configuration give the same report, byte
for byte, across any change that is not meant to change a finding or a figure.

Each case audits a simulated product through the service's own path (canonical order and
digest, plan, analysis, the report body and the stored per-user records) and compares a
SHA-256 of the result with the one recorded here. The fields that name the moment and the
machine (`created_at`, `engine`, `engine_version`) are left out. A deliberate change of the
report's content updates these digests in the same commit and says why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from models.columns import EventColumns
from models.synthetic import rule_scenarios, simulate_demo, simulate_product
from service.audits.runner import analyse_events, plan_audit
from service.reports.chain import canonical_json, encode_user_record
from service.storage.reading import canonical_events
from validation.fieldsim import field_benchmark, null_products, simulate_field

VOLATILE = ("created_at", "engine", "engine_version")

CASES: dict[str, tuple[Callable[[], EventColumns], dict[str, Any]]] = {
    "demo": (lambda: simulate_demo(0).columns(), {}),
    "demo-in-a-zone": (
        lambda: simulate_demo(1).columns(),
        {"mechanics": [], "config": {"time_zone": "America/New_York"}},
    ),
    "rule-scenarios": (lambda: simulate_product(rule_scenarios(), 3).columns(), {}),
    "field-product": (lambda: simulate_field(field_benchmark(0)[0], 0).columns, {}),
    "field-null-product": (lambda: simulate_field(null_products(0)[0], 0).columns, {}),
}

DIGESTS = {
    "demo": "37ac6b7d7272778be06624158b69f63cd504b82861cd6d06946db4d7799b5cb2",
    "demo-in-a-zone": "1708757078cedb54ec6865ab39fca99e61876a496b40d2f5a1f1ff933d069982",
    "field-null-product": "5f3e2f77c8baceea449cc8a4687a7f04938ddd93e5df7a6d11fd9501f201e619",
    "field-product": "4fc10cff76f98e99f9568b2a2a285e77650ba49b97629c29966aede59e6fdc94",
    "rule-scenarios": "5d82e4f3b0ad58155610c8484b2c78b48f8cce08cbfee56a93e1022bf51d81d5",
}


def report_digest(columns: EventColumns, request: dict[str, Any]) -> str:
    micros = np.round(columns.t * 1_000_000).astype(np.int64)
    canonical, summary = canonical_events(columns, micros)
    body, records = analyse_events(canonical, summary, plan_audit(request))
    digest = hashlib.sha256(canonical_json({k: v for k, v in body.items() if k not in VOLATILE}))
    for record in records:
        digest.update(encode_user_record(record))
    return digest.hexdigest()


@pytest.mark.parametrize("case", sorted(CASES))
def test_report_bytes_are_pinned(case: str) -> None:
    make, request = CASES[case]
    assert report_digest(make(), request) == DIGESTS[case]
