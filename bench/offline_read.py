"""Offline reading benchmark: the offline audit of event files against pyarrow's own parse of
the same file, in one run.

    python bench/offline_read.py                    # 2.94M events, 3 runs
    python bench/offline_read.py --events 1000000 --runs 5
    python bench/offline_read.py --smoke            # small size, for CI

Generates the events of a simulated product (skewed activity over four mechanics; responses
with a cost and an option, rewards with a value, a zone offset in the properties of most) as
NDJSON, gzipped NDJSON and Parquet. Then, per run, each in its own child process (so its time
includes starting Python, and its peak memory — `wait4`'s maxrss — is its own): pyarrow's plain
parse of the NDJSON file (`pyarrow.json.read_json`), and the offline audit
(`service.audits.offline.audit_files`, as `retention-audit audit` runs it) of the NDJSON, the
gzipped NDJSON and the Parquet file, timing its stages (read and validate, order, analyse).
Prints each run and the spread (min, median, max), and the ratio audit / parse per run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import MECHANICS, synthetic_log

DEFAULT_EVENTS = 2_940_000
OPTIONS = ("small", "large")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    parser.add_argument("--users", type=int, help="default: events / 100")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--processes", type=int, default=0, help="processes per audit (default: the CLI's)"
    )
    parser.add_argument("--smoke", action="store_true", help="small size (CI)")
    parser.add_argument("--dir", type=Path, help="where to write the files (default: a temp dir)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the files in --dir and reuse them next time"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child[0], Path(args.child[1]), args.processes)))
        return
    n = 20_000 if args.smoke else args.events
    runs = 1 if args.smoke else args.runs
    users = args.users or max(n // 100, 10)
    if args.keep and args.dir:
        files, generated = _generated(args.dir / f"{n}-{users}", n, users)
        results = [_run(files, args.processes) for _ in range(runs)]
    else:
        with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
            files, generated = _generate(Path(scratch), n, users)
            results = [_run(files, args.processes) for _ in range(runs)]
    print(json.dumps(_summary(n, generated, results), indent=2))


def _generated(folder: Path, n: int, users: int) -> tuple[dict[str, Path], dict[str, Any]]:
    """The files generated before in `folder`, else generated there now."""
    done = folder / "generated.json"
    if done.exists():
        names = ("events.ndjson", "events.ndjson.gz", "events.parquet")
        files = dict(
            zip(("ndjson", "ndjson_gz", "parquet"), (folder / m for m in names), strict=True)
        )
        return files, {**json.loads(done.read_text()), "reused": True}
    folder.mkdir(parents=True, exist_ok=True)
    files, generated = _generate(folder, n, users)
    done.write_text(json.dumps(generated))
    return files, generated


def _generate(folder: Path, n: int, users: int) -> tuple[dict[str, Path], dict[str, Any]]:
    started = time.perf_counter()
    log = synthetic_log(n, users=users)
    rng = np.random.default_rng(2)
    micros = np.round(log.t * 1e6).astype(np.int64)
    stamps = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")
    offsets = rng.choice(np.array([-18_000, 0, 3_600, 32_400]), n)
    zoned = rng.random(n) < 0.8
    option = rng.integers(0, len(OPTIONS), n)
    ndjson = folder / "events.ndjson"
    with ndjson.open("wb") as out:
        for start in range(0, n, 200_000):
            out.write(_lines(log, stamps, offsets, zoned, option, start, min(n, start + 200_000)))
    gzipped = folder / "events.ndjson.gz"
    with ndjson.open("rb") as source, gzip.open(gzipped, "wb", compresslevel=6) as sink:
        while block := source.read(1 << 24):
            sink.write(block)
    response = log.kind == 0
    table = pa.table(
        {
            "user_id": [f"user-{u:07d}" for u in log.user.tolist()],
            "timestamp": pa.array(micros, pa.timestamp("us", tz="UTC")),
            "mechanic": pa.array(np.asarray(MECHANICS)[log.mechanic]),
            "kind": pa.array(np.where(response, "response", "reward")),
            "value": pa.array(log.value, mask=response),
            "cost": pa.array(log.cost, mask=~response),
            "option": pa.array(np.asarray(OPTIONS)[option], mask=~response),
            "message_id": [f"m{i}" for i in range(n)],
            "properties": pa.StructArray.from_arrays(
                [pa.array(offsets, pa.int64())], names=["utc_offset_s"], mask=pa.array(~zoned)
            ),
        }
    )
    parquet = folder / "events.parquet"
    pq.write_table(table, parquet)
    files = {"ndjson": ndjson, "ndjson_gz": gzipped, "parquet": parquet}
    sizes = {name: round(path.stat().st_size / 2**20, 1) for name, path in files.items()}
    return files, {"seconds": round(time.perf_counter() - started, 1), "mib": sizes}


def _lines(
    log: Any,
    stamps: Any,
    offsets: Any,
    zoned: Any,
    option: Any,
    start: int,
    stop: int,
) -> bytes:
    out = []
    for i in range(start, stop):
        head = (
            f'{{"user_id":"user-{int(log.user[i]):07d}","timestamp":"{stamps[i]}Z",'
            f'"mechanic":"{MECHANICS[int(log.mechanic[i])]}",'
        )
        if log.kind[i]:
            body = f'"kind":"reward","value":{float(log.value[i])!r}'
        else:
            body = (
                f'"kind":"response","cost":{float(log.cost[i])!r},"option":"{OPTIONS[option[i]]}"'
            )
        zone = f',"properties":{{"utc_offset_s":{int(offsets[i])}}}' if zoned[i] else ""
        out.append(f'{head}{body},"message_id":"m{i}"{zone}}}\n')
    return "".join(out).encode()


def _run(files: dict[str, Path], processes: int) -> dict[str, Any]:
    run: dict[str, Any] = {"pyarrow_parse": _in_child("parse", files["ndjson"], processes)}
    for name, path in files.items():
        run[f"audit_{name}"] = _in_child("audit", path, processes)
    parse = run["pyarrow_parse"]["seconds"]
    run["ratio_audit_ndjson_to_parse"] = round(run["audit_ndjson"]["seconds"] / parse, 2)
    return run


def _in_child(task: str, path: Path, processes: int) -> dict[str, Any]:
    """`task` in a child process: wall time seen from here, its peak memory, its own figures."""
    command = [sys.executable, __file__, "--child", task, str(path)]
    command += ["--processes", str(processes)] if processes else []
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{task} {path} failed ({child.returncode})")
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        **json.loads(output),
    }


def _child(task: str, path: Path, processes: int) -> dict[str, Any]:
    if task == "parse":
        import pyarrow.json as pa_json

        started = time.perf_counter()
        rows = pa_json.read_json(path).num_rows
        return {"rows": rows, "parse_seconds": round(time.perf_counter() - started, 2)}
    import resource

    from service.audits.offline import audit_files
    from service.audits.planning import plan_audit
    from service.settings import get_settings

    processes = processes or get_settings().processes()

    stages: dict[str, float] = {}
    last = {"stage": "read", "at": time.perf_counter()}

    def progress(stage: str, done: int, total: int) -> None:
        name = "read" if stage.startswith("read ") else stage
        now = time.perf_counter()
        if name != last["stage"]:
            stages[last["stage"]] = stages.get(last["stage"], 0.0) + now - last["at"]
            last.update(stage=name, at=now)

    started = time.perf_counter()
    report = audit_files([str(path)], plan_audit({}), progress=progress, processes=processes)
    progress("end", 0, 0)
    return {
        "events": report["input"]["events"],
        "users": report["input"]["users"],
        "digest": report["input"]["digest"],
        "findings": len(report["findings"]),
        "audit_seconds": round(time.perf_counter() - started, 2),
        "processes": processes,
        # the largest of the analysis's worker processes, if it started any
        "workers_peak_rss_mib": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1
        ),
        "stage_seconds": {k: round(v, 2) for k, v in stages.items()},
    }


def _summary(n: int, generated: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    def spread(key: str, field: str = "seconds") -> dict[str, float]:
        values = [float(run[key][field]) for run in runs]
        return {
            "min": min(values),
            "median": statistics.median(values),
            "max": max(values),
        }

    ratios = [run["ratio_audit_ndjson_to_parse"] for run in runs]
    digests = {run[key]["digest"] for run in runs for key in run if key.startswith("audit_")}
    return {
        "events": n,
        "generated": generated,
        "runs": runs,
        "seconds": {key: spread(key) for key in runs[0] if isinstance(runs[0][key], dict)},
        "peak_rss_mib": {
            key: spread(key, "peak_rss_mib") for key in runs[0] if key.startswith("audit_")
        },
        "ratio_audit_ndjson_to_parse": {"min": min(ratios), "max": max(ratios)},
        "same_digest_every_format": len(digests) == 1,
    }


if __name__ == "__main__":
    main()
