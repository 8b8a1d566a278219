"""Audit benchmark: a full audit against reading the same rows with COPY, in one run.

    python bench/audit.py                       # 10M events, 100k users, on PostgreSQL
    python bench/audit.py --scaling             # 1M, 3M and 10M: time per event
    python bench/audit.py --sqlite --events 1000000   # the SQLite default, end to end
    python bench/audit.py --smoke               # small sizes, for CI

Events are generated inside PostgreSQL (skewed: a user's activity is a power of a uniform
draw, so a few users have thousands of events and most have a handful), over four mechanics.
The audit runs in a child process (so its peak memory is its own) through the same functions
a worker calls, timing each stage: read (events → arrays), analyse (expectations, fits,
schedules, markers), store (report and per-user rows). In the same run: the time to read the
same rows with `COPY … TO STDOUT`, and the expectation kernel against a pandas
`groupby().ewm()` of the same recurrence on the audit's own arrays
(`bench.models_kernels.expectation_kernel`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import fresh_database, psycopg_url, sqlalchemy_url
from models.columns import ARRAY_FIELDS

ROOT = Path(__file__).resolve().parents[1]
READ_COLUMNS = ", ".join(f.name for f in ARRAY_FIELDS)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--users", type=int, help="default: events / 100")
    parser.add_argument("--scaling", action="store_true", help="1M, 3M and 10M events")
    parser.add_argument("--sqlite", action="store_true", help="the SQLite default, end to end")
    parser.add_argument("--smoke", action="store_true", help="small sizes (CI)")
    parser.add_argument("--processes", type=int, help="processes per audit (default: cores)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_audit_child(args.child, args.processes)))
        return
    if args.sqlite:
        sizes = [20_000] if args.smoke else [args.events]
        results = [_sqlite_run(n, args) for n in sizes]
    else:
        if args.smoke:
            sizes = [20_000, 60_000] if args.scaling else [40_000]
        elif args.scaling:
            sizes = [1_000_000, 3_000_000, 10_000_000]
        else:
            sizes = [args.events]
        results = [_postgres_run(n, args) for n in sizes]
    out: dict[str, Any] = {"runs": results}
    if len(results) > 1:
        per_event = [r["audit_s"] / r["events"] for r in results]
        out["time_per_event_ratio_largest_to_smallest"] = round(per_event[-1] / per_event[0], 3)
    print(json.dumps(out, indent=2))


def _postgres_run(n: int, args: argparse.Namespace) -> dict[str, Any]:
    users = args.users or max(n // 100, 10)
    fresh_database()
    project_id = _load_postgres(n, users)
    copy_s = _copy_out(project_id)
    child = _run_child(sqlalchemy_url(), project_id, args.processes)
    return {
        "database": "postgresql",
        "events": n,
        "users": users,
        **child,
        "copy_to_stdout_s": round(copy_s, 3),
        "audit_to_copy_ratio": round(child["audit_s"] / copy_s, 2),
    }


def _sqlite_run(n: int, args: argparse.Namespace) -> dict[str, Any]:
    users = args.users or max(n // 100, 10)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        from service.storage.migrate import upgrade

        upgrade(url)
        project_id = _load_sqlite(url, n, users)
        child = _run_child(url, project_id, args.processes)
    child.pop("kernel")
    return {"database": "sqlite", "events": n, "users": users, **child}


def _run_child(url: str, project_id: int, processes: int | None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", f"{url}#{project_id}"]
    if processes:
        command += ["--processes", str(processes)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


# ---- loading (not timed) ---------------------------------------------------------------------


def _load_postgres(n: int, users: int) -> int:
    project_id = _project(sqlalchemy_url())
    with psycopg.connect(psycopg_url(), autocommit=True) as connection:
        # Bulk load without the indexes, then build them, as one restores a dump.
        connection.execute("DROP INDEX ix_event_audit_read")
        connection.execute("ALTER TABLE event DROP CONSTRAINT uq_event_project_id_message_id")
        connection.execute(
            f"""
            INSERT INTO event (project_id, message_id, user_id, mechanic, kind, ts, value, cost,
                               source, received_at)
            SELECT {project_id}, 'm' || g, 'u' || lpad(u::text, 7, '0'), m, k,
                   timestamptz '2026-05-01' + (random() * 30 * 86400) * interval '1 second',
                   CASE WHEN k = 1 THEN round((random() * 6)::numeric, 2) ELSE 0 END,
                   CASE WHEN k = 0 AND m IN ('slots', 'lootbox') THEN 1 ELSE 0 END,
                   'native', now()
            FROM (
                SELECT g, floor({users} * power(random(), 3))::int AS u,
                       (ARRAY['slots', 'lootbox', 'daily_login', 'feed_refresh'])
                           [1 + floor(random() * 4)::int] AS m,
                       CASE WHEN random() < 0.3 THEN 1 ELSE 0 END AS k
                FROM generate_series(1, {n}) AS g
            ) AS drawn
            """
        )
        connection.execute(
            "ALTER TABLE event ADD CONSTRAINT uq_event_project_id_message_id"
            " UNIQUE (project_id, message_id)"
        )
        connection.execute(
            "CREATE INDEX ix_event_audit_read ON event (project_id, mechanic, user_id, ts)"
        )
        connection.execute("VACUUM ANALYZE event")
    return project_id


def _load_sqlite(url: str, n: int, users: int) -> int:
    import sqlite3

    import numpy as np

    project_id = _project(url)
    rng = np.random.default_rng(1)
    user = np.floor(users * rng.random(n) ** 3).astype(np.int64)
    mechanics = np.array(["slots", "lootbox", "daily_login", "feed_refresh"])
    mechanic = mechanics[rng.integers(0, 4, n)]
    kind = (rng.random(n) < 0.3).astype(np.int64)
    t = np.datetime64("2026-05-01T00:00:00") + (rng.random(n) * 30 * 86400e6).astype(
        "timedelta64[us]"
    )
    stamps = np.datetime_as_string(t, unit="us")
    value = np.where(kind == 1, np.round(rng.random(n) * 6, 2), 0.0)
    cost = np.where((kind == 0) & np.isin(mechanic, ["slots", "lootbox"]), 1.0, 0.0)
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    rows = (
        (project_id, f"m{i}", f"u{user[i]:07d}", str(mechanic[i]), int(kind[i]),
         str(stamps[i]).replace("T", " "), float(value[i]), float(cost[i]), "native",
         "2026-06-01 00:00:00.000000")
        for i in range(n)
    )  # fmt: skip
    connection.executemany(
        "INSERT INTO event (project_id, message_id, user_id, mechanic, kind, ts, value, cost,"
        " source, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    connection.commit()
    connection.close()
    return project_id


def _project(url: str) -> int:
    from service.projects import projects
    from service.storage.db import make_engine, make_sessionmaker, transaction

    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        project, _ = projects.create_project(session, name="bench")
        project_id = project.id
    engine.dispose()
    return project_id


def _copy_out(project_id: int) -> float:
    """Seconds to read the rows an audit reads, as text, with COPY … TO STDOUT."""
    with psycopg.connect(psycopg_url()) as connection:
        start = time.perf_counter()
        size = 0
        with connection.cursor().copy(
            f"COPY (SELECT {READ_COLUMNS} FROM event WHERE project_id = {project_id}) TO STDOUT"
        ) as copy:
            for block in copy:
                size += len(block)
        return time.perf_counter() - start


# ---- the audit, in a child process --------------------------------------------------------


class _TreeMemory:
    """Peak memory of this process and all its descendants (the analysis runs in a process
    pool), sampled from /proc every 0.1 s, two ways: the sum of resident sizes (RSS: counts
    every shared library page once per process, so it overstates), and the sum of proportional
    set sizes (PSS: a page shared by k processes counts 1/k in each — the memory the audit
    actually holds)."""

    def __init__(self) -> None:
        self.peak_rss_bytes = 0
        self.peak_pss_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._page = os.sysconf("SC_PAGE_SIZE")

    def __enter__(self) -> _TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            rss, pss = self._sample()
            self.peak_rss_bytes = max(self.peak_rss_bytes, rss)
            self.peak_pss_bytes = max(self.peak_pss_bytes, pss)

    def _sample(self) -> tuple[int, int]:
        parents: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid = int(entry)
            parents.setdefault(int(fields[1]), []).append(pid)
            rss[pid] = int(fields[21]) * self._page
        total_rss = total_pss = 0
        stack = [os.getpid()]
        while stack:
            pid = stack.pop()
            total_rss += rss.get(pid, 0)
            total_pss += _pss(pid)
            stack.extend(parents.get(pid, []))
        return total_rss, total_pss


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _audit_child(target: str, processes: int | None) -> dict[str, Any]:
    from bench.models_kernels import expectation_kernel
    from service.audits import jobs
    from service.audits.planning import plan_audit
    from service.audits.runner import analyse_events, analysis_pool
    from service.reports.chain import store_report
    from service.settings import Settings
    from service.storage.db import make_engine, make_sessionmaker, transaction
    from service.storage.reading import read_events

    url, project = target.rsplit("#", 1)
    project_id = int(project)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    processes = processes or Settings().processes()
    with transaction(factory) as session:
        audit_id = jobs.enqueue(session, project_id=project_id, request={}).id
    with transaction(factory) as session:
        claim = jobs.claim(session, worker="bench")
    assert claim is not None
    plan = plan_audit(claim.request)
    times: dict[str, float] = {}
    stages: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        stages[stage] = time.perf_counter()

    with _TreeMemory() as memory:
        start = time.perf_counter()
        # as a worker does: the analysis processes start while the events are read, and end
        # with the analysis
        with analysis_pool(engine, project_id, plan, processes) as pool:
            columns, summary = read_events(
                engine, project_id, plan.window, streams=max(processes, 2)
            )
            times["read_s"] = time.perf_counter() - start
            mark = time.perf_counter()
            body, user_records = analyse_events(
                columns, summary, plan, progress=progress, processes=processes, pool=pool
            )
        times["expectations_and_fits_s"] = stages.get("fits", mark) - mark
        times["schedules_and_markers_s"] = time.perf_counter() - stages.get("fits", mark)
        mark = time.perf_counter()
        with transaction(factory) as session:
            jobs.succeed(session, audit_id=audit_id, worker="bench")
            store_report(
                session,
                audit_id=audit_id,
                project_id=project_id,
                body=body,
                user_records=user_records,
            )
        times["report_write_s"] = time.perf_counter() - mark
        total = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kernel = (
        expectation_kernel(columns, 3, session_gap_s=plan.config.session_gap_s)
        if url.startswith("postgresql")
        else {}
    )
    return {
        "audit_s": round(total, 3),
        **{k: round(v, 3) for k, v in times.items()},
        "processes": processes,
        "peak_rss_mib": round(peak_mib, 1),
        "peak_rss_all_processes_mib": round(memory.peak_rss_bytes / 2**20, 1),
        "peak_pss_all_processes_mib": round(memory.peak_pss_bytes / 2**20, 1),
        "users_in_report": body["input"]["users"],
        "kernel": kernel,
    }


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
