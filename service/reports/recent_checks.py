"""Report checks a process keeps for a while, so reading a report is not a full check each time.

A full check of one report (`verification.verify_report`) recomputes its digest and its per-user
rows digest, which reads and hashes every row: thousands of rows, tens of milliseconds of
database time, on every `GET /v1/audits/{id}`. A report does not change once stored, so a read
may show the verdict of a check made at most `ttl_s` seconds before (`checked_at` says when);
an edit made to the database behind the service's back shows on reads at most that long after.
`/verify` always checks in full, and drops what the process kept, so the next read checks again.
The verdicts live in the process's memory, not in the database, where whoever edits reports
could edit them too.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from service.reports.signing import ReportKeys
from service.reports.verification import Verdict, verify_report

MAX_KEPT = 4_096  # reports whose verdicts a process keeps, the least recently read dropped first


@dataclass(frozen=True, slots=True)
class Checked:
    verdict: Verdict
    checked_at: datetime
    expires: float  # on the monotonic clock


class RecentChecks:
    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_kept = MAX_KEPT
        self._clock = clock
        self._kept: OrderedDict[str, Checked] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, session: Session, audit_id: str, keys: ReportKeys) -> Checked:
        """The verdict on an audit's stored report, checked now or at most `ttl_s` ago."""
        now = self._clock()
        with self._lock:
            kept = self._kept.get(audit_id)
            if kept is not None and kept.expires > now:
                self._kept.move_to_end(audit_id)
                return kept
        verdict = verify_report(session, audit_id, keys)
        checked = Checked(verdict, datetime.now(UTC), now + self.ttl_s)
        if self.ttl_s > 0:
            with self._lock:
                self._kept[audit_id] = checked
                self._kept.move_to_end(audit_id)
                while len(self._kept) > self.max_kept:
                    self._kept.popitem(last=False)
        return checked

    def forget(self) -> None:
        """Drop every kept verdict: the next read of any report checks it in full."""
        with self._lock:
            self._kept.clear()
