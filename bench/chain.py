"""What the signed report chain costs: hashing per-user rows as they are stored, and checking a
report (its rows digest recomputed, its signature checked) as `GET /v1/audits/{id}` and
`/verify` do.

Per-user records are synthetic: the analysis's layout (`models.analysis.USER_RECORD`) with
random figures, about 1 kB each stored. Prints as JSON:

- `encode_s`: encoding the records as stored (the work done before rows digests existed);
- `encode_and_hash_s`: the same plus each row's hash and the rows digest;
- `hash_us_per_row`: the difference, per row;
- `store_s`: `store_report` of the report and every row, signed;
- `verify_report_s`, `verify_chain_s`: checking that report alone, and its chain.

PostgreSQL by default (a scratch database, dropped and created), `--sqlite` for a file.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import fresh_database, sqlalchemy_url
from models.analysis import USER_RECORD
from service.audits import jobs
from service.projects import projects
from service.reports import rows_digest
from service.reports.chain import encode_user_record, store_report
from service.reports.signing import ReportKeys
from service.reports.verification import verify_chain, verify_report
from service.storage.db import make_engine, make_sessionmaker, transaction
from service.storage.migrate import upgrade

KEYS = ReportKeys.parse("bench:" + "s" * 43)


def records(rows: int, seed: int = 0) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    figures = len(USER_RECORD) - 4
    tiers = ("none", "low", "medium", "high")
    return [
        (f"user-{i:07d}", "slots", *[rng.random() for _ in range(figures)], tiers[i % 4], ["spend"])
        for i in range(rows)
    ]


def run(url: str, rows: int) -> dict[str, Any]:
    recs = records(rows)
    started = time.perf_counter()
    for record in recs:
        encode_user_record(record)
    encode_s = time.perf_counter() - started
    started = time.perf_counter()
    rows_digest.rows_digest(
        rows_digest.row_hash(r[1].encode(), r[0].encode(), r[-2].encode(), encode_user_record(r))
        for r in recs
    )
    hashed_s = time.perf_counter() - started
    factory = make_sessionmaker(make_engine(url))
    with transaction(factory) as session:
        project, _ = projects.create_project(session, name=f"chain-bench-{time.time_ns()}")
        audit = jobs.enqueue(session, project_id=project.id, request={})
        audit.status = jobs.SUCCEEDED
        project_id, audit_id = project.id, audit.id
    started = time.perf_counter()
    with transaction(factory) as session:
        store_report(
            session,
            audit_id=audit_id,
            project_id=project_id,
            body={"status": "succeeded"},
            user_records=iter(recs),
            keys=KEYS,
        )
    store_s = time.perf_counter() - started
    started = time.perf_counter()
    with transaction(factory) as session:
        report = verify_report(session, audit_id, KEYS)
    verify_report_s = time.perf_counter() - started
    started = time.perf_counter()
    with transaction(factory) as session:
        chain = verify_chain(session, project_id=project_id, upto_audit_id=audit_id, keys=KEYS)
    verify_chain_s = time.perf_counter() - started
    return {
        "database": url.split(":")[0].split("+")[0],
        "rows": rows,
        "stored_bytes_per_row": round(sum(len(encode_user_record(r)) for r in recs) / rows),
        "encode_s": round(encode_s, 3),
        "encode_and_hash_s": round(hashed_s, 3),
        "hash_us_per_row": round((hashed_s - encode_s) / rows * 1e6, 2),
        "store_s": round(store_s, 3),
        "verify_report_s": round(verify_report_s, 3),
        "verify_report_status": report.status,
        "verify_chain_s": round(verify_chain_s, 3),
        "verify_chain_status": chain["status"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file, not PostgreSQL")
    parser.add_argument("--smoke", action="store_true", help="1,000 rows")
    args = parser.parse_args()
    rows = 1_000 if args.smoke else args.rows
    if args.sqlite:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            upgrade(url)
            result = run(url, rows)
    else:
        fresh_database()
        result = run(sqlalchemy_url(), rows)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
