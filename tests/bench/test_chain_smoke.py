"""The chain benchmark at its smoke size, on both databases (figures are not asserted)."""

from __future__ import annotations

import pytest

from tests.bench.test_smoke import BENCH, run


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_chain_smoke(database: str) -> None:
    args = ["--smoke", "--sqlite"] if database == "sqlite" else ["--smoke"]
    result = run(str(BENCH / "chain.py"), *args)
    assert result["database"] == database
    assert result["rows"] == 1_000
    assert result["verify_report_status"] == result["verify_chain_status"] == "verified"
