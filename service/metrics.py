"""Prometheus metrics (`GET /metrics`, text exposition format).

Counters live in each server process (ingestion answers, finished audits by outcome —
succeeded, failed, or empty when the scope matched no event — and their durations); the
audit queue is read from the database at scrape time, so every process reports the same queue
whatever worker ran what.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.audits.jobs import STATUSES
from service.storage.tables import Audit

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS = Counter(
    "retention_audit_events",
    "Events answered by ingestion, by source and outcome.",
    ["source", "status"],
    registry=REGISTRY,
)
AUDITS = Counter(
    "retention_audit_audits_finished",
    "Audits run to an end by this process, by outcome.",
    ["status"],
    registry=REGISTRY,
)
AUDIT_SECONDS = Histogram(
    "retention_audit_audit_duration_seconds",
    "Wall time of audits run by this process, from claim to stored report.",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
    registry=REGISTRY,
)


def count_events(source: str, accepted: int, duplicate: int, rejected: int) -> None:
    for status, n in (("accepted", accepted), ("duplicate", duplicate), ("rejected", rejected)):
        if n:
            EVENTS.labels(source=source, status=status).inc(n)


class QueueCollector(Collector):
    """Audits by status and the age of the oldest queued one, read at scrape time."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def collect(self) -> Iterator[Metric]:
        by_status = GaugeMetricFamily(
            "retention_audit_audits", "Audits in the database, by status.", labels=["status"]
        )
        oldest = GaugeMetricFamily(
            "retention_audit_oldest_queued_audit_age_seconds",
            "How long the oldest queued audit has waited (0 when none waits).",
        )
        with self._factory() as session:
            rows = session.execute(select(Audit.status, func.count()).group_by(Audit.status))
            counts: dict[str, int] = {row[0]: row[1] for row in rows}
            first = session.scalar(
                select(func.min(Audit.created_at)).where(Audit.status == "queued")
            )
        for status in STATUSES:
            by_status.add_metric([status], counts.get(status, 0))
        age = 0.0
        if first is not None:
            first = first if first.tzinfo else first.replace(tzinfo=UTC)
            age = max(0.0, (datetime.now(UTC) - first).total_seconds())
        oldest.add_metric([], age)
        yield by_status
        yield oldest
