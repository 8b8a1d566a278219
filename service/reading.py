"""Stored events into arrays: one project's native events (optionally a window and a subset of
mechanics) read in bulk as `models.columns.EventColumns`, with a digest of what was read."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Select, select

from models.columns import EventColumns
from service.events import EventRecord
from service.tables import Event

FETCH_ROWS = 100_000
MICROSECONDS = 1_000_000


@dataclass(frozen=True, slots=True)
class EventWindow:
    """Which events an audit reads: [start, end) and the mechanics (all when empty)."""

    start: datetime | None = None
    end: datetime | None = None
    mechanics: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InputSummary:
    """The report's `input`: what the audit read, and a digest that identifies it."""

    events: int
    users: int
    start: str | None
    end: str | None
    digest: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "users": self.users,
            "from": self.start,
            "to": self.end,
            "digest": self.digest,
        }


_COLUMNS = (
    Event.user_id,
    Event.mechanic,
    Event.kind,
    Event.ts,
    Event.value,
    Event.cost,
    Event.option,
    Event.session_id,
    Event.utc_offset_s,
    Event.delay_s,
)


def _query(project_id: int, window: EventWindow) -> Select[*tuple[Any, ...]]:
    query = select(*_COLUMNS).where(Event.project_id == project_id)
    if window.start is not None:
        query = query.where(Event.ts >= window.start)
    if window.end is not None:
        query = query.where(Event.ts < window.end)
    if window.mechanics:
        query = query.where(Event.mechanic.in_(window.mechanics))
    return query


def read_events(
    connection: Connection, project_id: int, window: EventWindow
) -> tuple[EventColumns, InputSummary]:
    """All the project's events in `window`, streamed in chunks into arrays."""
    result = connection.execution_options(stream_results=True, yield_per=FETCH_ROWS).execute(
        _query(project_id, window)
    )
    chunks: list[list[Any]] = []
    for rows in result.partitions():
        chunks.append(list(zip(*rows, strict=True)))
    return columns_from_fields(_concatenate(chunks))


def _concatenate(chunks: list[list[Any]]) -> list[list[Any]]:
    if not chunks:
        return [[] for _ in _COLUMNS]
    return [[value for chunk in chunks for value in chunk[i]] for i in range(len(_COLUMNS))]


def records_to_fields(records: Iterable[EventRecord]) -> list[list[Any]]:
    """Validated records (the offline CLI's input) as the same field lists the reader yields."""
    fields: list[list[Any]] = [[] for _ in _COLUMNS]
    for r in records:
        for column, value in zip(
            fields,
            (
                r.user_id,
                r.mechanic,
                r.kind,
                r.ts,
                r.value,
                r.cost,
                r.option,
                r.session_id,
                r.utc_offset_s,
                r.delay_s,
            ),
            strict=True,
        ):
            column.append(value)
    return fields


def columns_from_fields(fields: Sequence[Sequence[Any]]) -> tuple[EventColumns, InputSummary]:
    """Arrays and input summary from field lists (user, mechanic, kind, ts, value, cost,
    option, session, utc offset, delay) — the one conversion both the database reader and the
    offline CLI use, so the same events give the same arrays bit for bit."""
    user, mechanic, kind, ts, value, cost, option, session, offset, delay = fields
    micros = np.array([_micros(t) for t in ts], dtype=np.int64)
    columns = EventColumns.from_arrays(
        user_id=np.array(user, dtype=object),
        mechanic=np.array(mechanic, dtype=object),
        kind=np.array(kind, dtype=np.int8),
        t=micros / MICROSECONDS,
        value=np.array(value, dtype=np.float64),
        cost=np.array(cost, dtype=np.float64),
        option=np.array(option, dtype=object),
        session_id=np.array(session, dtype=object),
        utc_offset_s=np.array([0 if o is None else o for o in offset], dtype=np.int32),
        delay_s=np.array([np.nan if d is None else d for d in delay], dtype=np.float64),
    )
    return columns, summarise(columns, micros)


def _micros(ts: datetime) -> int:
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    delta = ts - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * MICROSECONDS + delta.microseconds


def summarise(columns: EventColumns, micros: NDArray[np.int64]) -> InputSummary:
    """Counts, time span and a digest of the events' content in a canonical order.

    The digest covers every field the models read, sorted by (mechanic, user, time, kind,
    value, cost), so it identifies the input whatever order rows came back in.
    """
    n = len(columns)
    order = np.lexsort(
        (columns.cost, columns.value, columns.kind, micros, columns.user, columns.mechanic)
    )
    digest = hashlib.sha256()
    for name_table in (columns.user_ids, columns.mechanics, columns.options):
        digest.update(b"\x1e".join(name.encode() for name in name_table) + b"\x1d")
    for array in (
        columns.user,
        columns.mechanic,
        columns.kind,
        micros,
        columns.value,
        columns.cost,
        columns.option,
        columns.session,
        columns.utc_offset_s,
        columns.delay_s,
    ):
        digest.update(np.ascontiguousarray(array[order]).tobytes())
    return InputSummary(
        events=n,
        users=len(columns.user_ids),
        start=_iso(int(micros.min())) if n else None,
        end=_iso(int(micros.max())) if n else None,
        digest="sha256:" + digest.hexdigest(),
    )


def _iso(micros: int) -> str:
    stamp = datetime.fromtimestamp(micros / MICROSECONDS, tz=UTC)
    return stamp.isoformat().replace("+00:00", "Z")
