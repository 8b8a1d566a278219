"""Native events in their canonical order, with the digest that identifies them.

Whatever order the rows of a read come back in, the same events give the same arrays and the
same digest bit for bit: the digest is the report's `input.digest`.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.columns import ARRAY_FIELDS, NAME_TABLES, EventColumns
from models.ordering import fingerprint_rows, group_rows, key_order

MICROSECONDS = 1_000_000


@dataclass(frozen=True, slots=True)
class InputSummary:
    """The report's `input`: what the audit read, and a digest that identifies it."""

    events: int
    users: int
    start: str | None
    end: str | None
    digest: str
    # invalid rows an offline audit was told to skip (None: none may be skipped)
    skipped: int | None = None

    def as_dict(self) -> dict[str, Any]:
        read = {
            "events": self.events,
            "users": self.users,
            "from": self.start,
            "to": self.end,
            "digest": self.digest,
        }
        return read if self.skipped is None else {**read, "skipped": self.skipped}


def columns_from_fields(fields: Sequence[Sequence[Any]]) -> tuple[EventColumns, InputSummary]:
    """Arrays and input summary from one list per field the models read (`ARRAY_FIELDS`, in
    its order; the time in microseconds since the epoch, None for an absent optional value)
    — the one conversion both the SQLite reader and the offline CLI use, so the same events
    give the same arrays bit for bit (in their canonical order, `canonical_events`)."""
    arrays: dict[str, Any] = {}
    micros = np.zeros(0, dtype=np.int64)
    for field, values in zip(ARRAY_FIELDS, fields, strict=True):
        if field.coded:
            arrays[field.name] = np.array(values, dtype=object)
        elif field.time:
            micros = np.asarray(values, dtype=np.int64)
            arrays[str(field.array)] = micros / MICROSECONDS
        elif field.optional:
            absent = field.absent
            arrays[str(field.array)] = np.array(
                [absent if v is None else v for v in values], dtype=field.dtype
            )
        else:
            arrays[str(field.array)] = np.array(values, dtype=field.dtype)
    return canonical_events(EventColumns.from_arrays(**arrays), micros)


def canonical_events(
    columns: EventColumns, micros: NDArray[np.int64]
) -> tuple[EventColumns, InputSummary]:
    """The events in an order fixed by their content alone, with counts, time span and a
    digest of their content in that order.

    The order is by user (codes rank the sorted names), then by a 64-bit fingerprint of all
    of an event's fields (`fingerprint_rows`), so it is the same whatever order rows came back
    in; events that tie are identical (unless two distinct events of one input share a
    fingerprint: odds about n²/2⁶⁵, and then only their order is moot). The digest (SHA-256)
    covers the name tables and every field the models read, in that order (the time in
    microseconds). Grouped by user, the arrays split into partitions of users by slicing
    (`models.analysis`), with no gather.
    """
    n = len(columns)
    fields = _digest_fields(columns, micros)
    order = group_rows(
        columns.user, key_order(fingerprint_rows(fields)), max(len(columns.user_ids), 1)
    )
    digest = hashlib.sha256()
    for name_table in NAME_TABLES:
        names: tuple[str, ...] = getattr(columns, name_table)
        digest.update(b"\x1e".join(name.encode() for name in names) + b"\x1d")
    # Gathering a column in that order reads it at random (most of this function's time): two
    # columns are gathered at once on other threads (numpy's take and SHA-256 both release
    # the GIL) while this one hashes the column before, in order.
    # A column holding one value throughout (a product that logs no option, session, zone or
    # delay) is its own reordering: it is hashed as it is.
    ordered: list[NDArray[Any]] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        gathered: deque[Future[NDArray[Any]]] = deque()
        for array in fields:
            gathered.append(pool.submit(_reordered, array, order))
            if len(gathered) > 2:
                ordered.append(gathered.popleft().result())
                digest.update(ordered[-1].data)
        while gathered:
            ordered.append(gathered.popleft().result())
            digest.update(ordered[-1].data)
    del order, fields
    arrays: dict[str, Any] = {}
    for field, array in zip(ARRAY_FIELDS, ordered, strict=True):
        if field.time:
            micros = array
            array = micros / MICROSECONDS
        arrays[str(field.array)] = array
    del ordered
    canonical = EventColumns(**arrays, **{name: getattr(columns, name) for name in NAME_TABLES})
    summary = InputSummary(
        events=n,
        users=len(columns.user_ids),
        start=_iso(int(micros.min())) if n else None,
        end=_iso(int(micros.max())) if n else None,
        digest="sha256:" + digest.hexdigest(),
    )
    return canonical, summary


def _reordered(array: NDArray[Any], order: NDArray[np.int64]) -> NDArray[Any]:
    """`array[order]`, or `array` itself when every element has the same bits (NaNs too)."""
    if array.shape[0]:
        bits = array.view(f"u{array.dtype.itemsize}")
        if not (bits == bits[0]).all():
            return np.take(array, order)
    return array


def _digest_fields(columns: EventColumns, micros: NDArray[np.int64]) -> list[NDArray[Any]]:
    """The arrays the digest covers, in `ARRAY_FIELDS`' order: the time as `micros`."""
    return [micros if f.time else getattr(columns, str(f.array)) for f in ARRAY_FIELDS]


def _iso(micros: int) -> str:
    stamp = datetime.fromtimestamp(micros / MICROSECONDS, tz=UTC)
    return stamp.isoformat().replace("+00:00", "Z")
