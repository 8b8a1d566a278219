"""The benchmarks at their smoke size, so they never rot (figures are not asserted here:
speed bars are measured by running the benchmarks by hand, see the README)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

pytestmark = pytest.mark.postgres


def run(*args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, *args], check=True, capture_output=True, text=True, timeout=600
    ).stdout
    start = out.index("{")
    return dict(json.loads(out[start:]))


def test_ingest_smoke() -> None:
    result = run(str(BENCH / "ingest.py"), "--smoke")
    assert result["http_accepted"] == result["events"] == 20_000
    assert float(result["ratio_http_to_copy"]) > 0  # type: ignore[arg-type]


def test_import_files_smoke() -> None:
    result = run(str(BENCH / "import_files.py"), "--smoke")
    stored = (result["native_accepted"], result["mixpanel_accepted"], result["reimport_duplicate"])
    assert stored == (20_000, 20_000, 20_000)
    assert result["reimport_accepted"] == 0
    assert float(result["ratio_import_native_to_copy"]) > 0  # type: ignore[arg-type]


def test_cluster_smoke() -> None:
    result = run(str(BENCH / "cluster.py"), "--smoke")
    assert result["events"] == 200_000
    assert result["same_digest"] is True
    assert result["local_digest"] == result["cluster_digest"]
    assert float(result["ratio_cluster_to_local"]) > 0  # type: ignore[arg-type]


def test_audit_smoke_postgres_with_scaling() -> None:
    result = run(str(BENCH / "audit.py"), "--smoke", "--scaling")
    runs = result["runs"]
    assert isinstance(runs, list)
    assert [r["events"] for r in runs] == [20_000, 60_000]
    assert all(r["users_in_report"] > 0 and r["kernel"]["pandas_to_kernel_ratio"] > 0 for r in runs)
    # the kernel and pandas computed the same recurrence (from the same starting value)
    assert all(r["kernel"]["kernel_vs_pandas_max_abs_difference"] < 1e-9 for r in runs)
    assert "time_per_event_ratio_largest_to_smallest" in result


def test_audit_smoke_sqlite() -> None:
    (run_,) = run(str(BENCH / "audit.py"), "--smoke", "--sqlite")["runs"]  # type: ignore[misc]
    assert run_["database"] == "sqlite"
    assert run_["users_in_report"] > 0


def test_models_kernels_smoke() -> None:
    result = run(str(BENCH / "models_kernels.py"), "--smoke", "--repeat", "1")
    kernel = result["expectation_kernel"]
    assert isinstance(kernel, dict)
    assert kernel["responses"] > 0
    assert kernel["pandas_to_kernel_ratio"] > 0
    assert kernel["kernel_vs_pandas_max_abs_difference"] < 1e-9


def test_mixed_load_smoke() -> None:
    result = run(str(BENCH / "mixed_load.py"), "--smoke")
    per_kind = result["per_kind"]
    assert isinstance(per_kind, dict)
    assert set(per_kind) == {"ingest", "report", "users", "stats"}
    assert result["errors"] == 0, per_kind
    assert all(k["requests"] > 0 and 0 < k["p50_ms"] <= k["p99_ms"] for k in per_kind.values())
    assert result["requests"] == sum(k["requests"] for k in per_kind.values())
    assert int(result["events_accepted"]) > 0  # type: ignore[call-overload]


def test_offline_read_smoke() -> None:
    result = run(str(BENCH / "offline_read.py"), "--smoke")
    assert result["events"] == 20_000
    (run_,) = result["runs"]  # type: ignore[misc]
    # the three files hold the same events: one digest, every event read
    assert result["same_digest_every_format"] is True
    assert {run_[k]["events"] for k in ("audit_ndjson", "audit_ndjson_gz", "audit_parquet")} == {
        20_000
    }
    assert run_["pyarrow_parse"]["rows"] == 20_000
    assert run_["ratio_audit_ndjson_to_parse"] > 0
    assert all(run_[k]["peak_rss_mib"] > 0 for k in run_ if k.startswith("audit_"))
