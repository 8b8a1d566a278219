"""Shared by the benchmarks: a scratch PostgreSQL database, skewed synthetic events, timing."""

from __future__ import annotations

import gzip
import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import psycopg

ADMIN_URL = os.environ.get(
    "RETENTION_AUDIT_BENCH_ADMIN_URL", "postgresql://root@127.0.0.1:5432/postgres"
)
BENCH_DB = os.environ.get("RETENTION_AUDIT_BENCH_DB", "retention_audit_bench")
MECHANICS = ("slots", "lootbox", "daily_login", "feed_refresh")
START = 1_777_636_800.0  # 2026-05-01T00:00:00Z


def sqlalchemy_url(database: str = BENCH_DB) -> str:
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{database}"


def psycopg_url(database: str = BENCH_DB) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"


def fresh_database(database: str = BENCH_DB) -> None:
    """Drop and create the scratch database, then migrate it."""
    with psycopg.connect(ADMIN_URL, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (database,),
        )
        connection.execute(f'DROP DATABASE IF EXISTS "{database}"')
        connection.execute(f'CREATE DATABASE "{database}"')
    from service.storage.migrate import upgrade

    upgrade(sqlalchemy_url(database))


@dataclass(frozen=True)
class SyntheticLog:
    """n events: users with skewed (log-normal) activity over several mechanics."""

    user: np.ndarray
    mechanic: np.ndarray
    kind: np.ndarray
    t: np.ndarray
    value: np.ndarray
    cost: np.ndarray

    def __len__(self) -> int:
        return int(self.t.shape[0])


def synthetic_log(n: int, *, users: int, seed: int = 1) -> SyntheticLog:
    rng = np.random.default_rng(seed)
    weights = rng.lognormal(0.0, 1.2, users)
    user = rng.choice(users, size=n, p=weights / weights.sum())
    mechanic = rng.integers(0, len(MECHANICS), n)
    t = START + rng.uniform(0, 30 * 86_400, n)
    kind = (rng.random(n) < 0.3).astype(np.int8)
    value = np.where(kind == 1, rng.exponential(3.0, n).round(2), 0.0)
    cost = np.where(kind == 0, 1.0, 0.0)
    return SyntheticLog(user, mechanic, kind, t, value, cost)


def native_events(log: SyntheticLog, start: int, stop: int) -> list[dict[str, Any]]:
    stamps = np.datetime_as_string(
        (log.t[start:stop] * 1e6).astype(np.int64).astype("datetime64[us]"), unit="us"
    )
    out = []
    for i in range(start, stop):
        kind = int(log.kind[i])
        event: dict[str, Any] = {
            "user_id": f"user-{int(log.user[i]):07d}",
            "timestamp": f"{stamps[i - start]}Z",
            "mechanic": MECHANICS[int(log.mechanic[i])],
            "kind": "reward" if kind else "response",
            "message_id": f"m{i}",
        }
        if kind:
            event["value"] = float(log.value[i])
        else:
            event["cost"] = float(log.cost[i])
        out.append(event)
    return out


def gzip_ndjson(events: list[dict[str, Any]]) -> bytes:
    return gzip.compress(b"\n".join(orjson.dumps(e) for e in events), compresslevel=6)


@contextmanager
def timed() -> Iterator[dict[str, float]]:
    out: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield out
    finally:
        out["seconds"] = time.perf_counter() - start


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic_columns(log: SyntheticLog, users: int) -> Any:
    """The synthetic events as `EventColumns`, mechanic codes ranking the sorted names (as the
    service codes them), in the order generated (not yet canonical)."""
    from models.columns import ARRAY_FIELDS, EventColumns

    n = len(log)
    order = np.argsort(np.array(MECHANICS)).argsort()  # codes rank the sorted names
    return EventColumns(
        user=log.user.astype(np.int64),
        mechanic=order[log.mechanic].astype(np.int32),
        kind=log.kind,
        t=log.t,
        value=log.value,
        cost=log.cost,
        **{str(f.array): np.full(n, f.absent, f.dtype) for f in ARRAY_FIELDS if f.optional},
        user_ids=tuple(f"u{i:07d}" for i in range(users)),
        mechanics=tuple(sorted(MECHANICS)),
        options=(),
    )


def copy_rate(rows: list[tuple[Any, ...]]) -> float:
    """Rows per second of a plain `COPY` of `rows` (project id, the event fields, source,
    received at) into an empty table shaped like the event table: same columns, constraints
    and indexes. The baseline of the ingestion and import benches."""
    from models.columns import EVENT_FIELDS

    columns = ", ".join(f.name for f in EVENT_FIELDS)
    with psycopg.connect(psycopg_url()) as connection:
        connection.execute("DROP TABLE IF EXISTS event_copy")
        connection.execute("CREATE TABLE event_copy (LIKE event INCLUDING ALL)")
        connection.commit()
        start = time.perf_counter()
        with connection.cursor().copy(
            f"COPY event_copy (project_id, {columns}, source, received_at) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        connection.commit()
        seconds = time.perf_counter() - start
    return len(rows) / seconds
