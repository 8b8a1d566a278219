"""Columnar native events: the boundary between the service (rows) and the models (arrays).

`EVENT_FIELDS` is the one definition of a stored native event's fields: the service builds its
table, its bulk-copy layouts and its readers from it, and `EventColumns` holds one array per
field that the models read. The service (from SQL rows) and the offline CLI (from files) both
build one `EventColumns`; everything in `models` starts from it. Events may arrive in any
order; nothing here sorts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

RESPONSE: int = 0
REWARD: int = 1
NO_OPTION: int = -1
NO_SESSION: int = -1
# an event that sent no zone offset (a sent 0 is UTC): the smallest int32, far outside ±14 h
OFFSET_UNKNOWN: int = -(2**31)
MAX_UTC_OFFSET_S: int = 14 * 3600
# The default plausible magnitudes of a reward's value and of a response's cost (an operator may
# set others): a billion of any currency or points is beyond any single spin, loot box or
# purchase, and a million of them still sum within float64's exact integers (2**53).
MAX_ABS_VALUE: float = 1e9
MAX_COST: float = 1e9


@dataclass(frozen=True, slots=True)
class EventField:
    """One stored field of a native event.

    name:       its name in the event table, in a validated record and on the wire
    sql:        its PostgreSQL type ("text", "int2", "int4", "float8", "timestamptz", "jsonb")
    optional:   whether an event may lack it (NULL when stored)
    array:      the `EventColumns` array that holds it; None for fields the models never read
    dtype:      that array's element type; text fields are integer codes into a name table
    absent:     the array's value for an event without it; for a required number, also the
                value an event that does not send it stores
    names:      the `EventColumns` name table behind a text field's codes (None: codes only)
    max_length: the longest text accepted
    minimum, maximum: the bounds a number must keep, where the field has any
    """

    name: str
    sql: str
    optional: bool = False
    array: str | None = None
    dtype: type[np.generic] | None = None
    absent: float | None = None
    names: str | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None

    @property
    def coded(self) -> bool:
        """Text the models read as integer codes (users, mechanics, options, sessions)."""
        return self.sql == "text" and self.array is not None

    @property
    def time(self) -> bool:
        """The event's time: stored as a timestamp, read as seconds since the Unix epoch."""
        return self.sql == "timestamptz"


# In the order of the stored record, of every bulk-copy layout and of the event digest.
EVENT_FIELDS: tuple[EventField, ...] = (
    EventField("message_id", "text", max_length=128),
    EventField("user_id", "text", array="user", dtype=np.int64, names="user_ids", max_length=256),
    EventField(
        "mechanic", "text", array="mechanic", dtype=np.int32, names="mechanics", max_length=128
    ),
    EventField("kind", "int2", array="kind", dtype=np.int8, minimum=RESPONSE, maximum=REWARD),
    EventField("ts", "timestamptz", array="t", dtype=np.float64),
    EventField(
        "value", "float8", array="value", dtype=np.float64, absent=0.0, minimum=-MAX_ABS_VALUE,
        maximum=MAX_ABS_VALUE,
    ),
    EventField(
        "cost", "float8", array="cost", dtype=np.float64, absent=0.0, minimum=0.0,
        maximum=MAX_COST,
    ),
    EventField(
        "option", "text", optional=True, array="option", dtype=np.int32, absent=NO_OPTION,
        names="options", max_length=128,
    ),
    EventField(
        "session_id", "text", optional=True, array="session", dtype=np.int64, absent=NO_SESSION,
        max_length=128,
    ),
    EventField(
        "utc_offset_s", "int4", optional=True, array="utc_offset_s", dtype=np.int32,
        absent=OFFSET_UNKNOWN, minimum=-MAX_UTC_OFFSET_S, maximum=MAX_UTC_OFFSET_S,
    ),
    EventField(
        "delay_s", "float8", optional=True, array="delay_s", dtype=np.float64, absent=np.nan,
        minimum=0.0,
    ),
    EventField("properties", "jsonb", optional=True),
)  # fmt: skip
EVENT_FIELD = {field.name: field for field in EVENT_FIELDS}
# The fields the models read, in `EventColumns`' order.
ARRAY_FIELDS: tuple[EventField, ...] = tuple(f for f in EVENT_FIELDS if f.array is not None)
NAME_TABLES: tuple[str, ...] = tuple(f.names for f in ARRAY_FIELDS if f.names is not None)


@dataclass(frozen=True, slots=True)
class EventColumns:
    """Native events as parallel arrays of length n.

    Categorical fields are integer codes into the sorted name tuples, so that models never
    touch Python strings on the hot path.

    user:          (n,) int64, index into `user_ids`
    mechanic:      (n,) int32, index into `mechanics`
    kind:          (n,) int8, RESPONSE (0) or REWARD (1)
    t:             (n,) float64, event time, seconds since the Unix epoch (UTC)
    value:         (n,) float64, reward magnitude (0 for responses; may be negative: aversive)
    cost:          (n,) float64, response cost (0 for rewards)
    option:        (n,) int32, index into `options`, NO_OPTION (-1) when absent
    session:       (n,) int64, code of an explicit `session_id`, NO_SESSION (-1) when absent
    utc_offset_s:  (n,) int32, the user's zone offset from UTC at that time, as the event sent
                   it (0 is UTC, sent); OFFSET_UNKNOWN when the event sent none
    delay_s:       (n,) float64, for wait-or-pay responses, the wait offered (seconds); NaN
                   when the response is not a wait-or-pay choice
    user_ids, mechanics, options: the names behind the codes (sorted, unique)
    """

    user: NDArray[np.int64]
    mechanic: NDArray[np.int32]
    kind: NDArray[np.int8]
    t: NDArray[np.float64]
    value: NDArray[np.float64]
    cost: NDArray[np.float64]
    option: NDArray[np.int32]
    session: NDArray[np.int64]
    utc_offset_s: NDArray[np.int32]
    delay_s: NDArray[np.float64]
    user_ids: tuple[str, ...]
    mechanics: tuple[str, ...]
    options: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @classmethod
    def from_arrays(cls, **fields: ArrayLike | None) -> EventColumns:
        """Events from one array (or list) per field: a text field's names under its stored
        name (`user_id`, `mechanic`, `option`, `session_id`), any other field under its array's
        name (`kind`, `t` in seconds, `value`, …). Text is encoded as codes; an optional or
        defaulted field left out (or None) takes its `absent` value, and an optional text
        field may hold None for "absent".
        """
        given = {f.name if f.coded else str(f.array): f for f in ARRAY_FIELDS}
        unknown = sorted(set(fields) - set(given))
        if unknown:
            raise TypeError(f"no event field {', '.join(unknown)}")
        n = np.asarray(fields["t"]).shape[0]
        arrays: dict[str, Any] = {}
        for key, field in given.items():
            values = fields.get(key)
            if field.coded:
                names, codes = (
                    _encode_optional(values, n, int(field.absent or 0))
                    if field.optional
                    else _encode(np.asarray(values, dtype=object))
                )
                if field.names is not None:
                    arrays[field.names] = names
                arrays[str(field.array)] = codes.astype(field.dtype)
            elif values is None:
                if field.absent is None:
                    raise TypeError(f"the event field {key} is required")
                arrays[str(field.array)] = np.full(n, field.absent, dtype=field.dtype)
            else:
                arrays[str(field.array)] = np.asarray(values, dtype=field.dtype)
        return cls(**arrays)

    def rows(self, start: int, stop: int) -> EventColumns:
        """The events start..stop−1 (views, no copy); code tables are kept as they are."""
        return self._map(lambda column: column[start:stop])

    def take(self, index: NDArray[np.intp] | NDArray[np.bool_]) -> EventColumns:
        """The events at `index` (a mask or positions); code tables are kept as they are."""
        if np.asarray(index).dtype == np.bool_:
            keep = np.asarray(index, dtype=np.bool_)
            if keep.shape != self.t.shape:  # np.compress would silently truncate
                raise IndexError(f"mask of {keep.shape} for {self.t.shape[0]} events")

            # np.compress: the same selection as a boolean index, several times faster
            def pick(column: NDArray[Any]) -> NDArray[Any]:
                return np.compress(keep, column)
        else:

            def pick(column: NDArray[Any]) -> NDArray[Any]:
                return column[index]

        return self._map(pick)

    def _map(self, pick: Callable[[NDArray[Any]], NDArray[Any]]) -> EventColumns:
        picked: dict[str, Any] = {
            str(f.array): pick(getattr(self, str(f.array))) for f in ARRAY_FIELDS
        }
        return replace(self, **picked)


def _encode(names: NDArray[np.object_]) -> tuple[tuple[str, ...], NDArray[np.intp]]:
    if names.shape[0] == 0:
        return (), np.zeros(0, dtype=np.intp)
    uniques, codes = np.unique(names.astype(str), return_inverse=True)
    return tuple(str(u) for u in uniques), codes


def _encode_optional(
    names: ArrayLike | None, n: int, absent: int
) -> tuple[tuple[str, ...], NDArray[np.intp]]:
    codes = np.full(n, absent, dtype=np.intp)
    if names is None:
        return (), codes
    arr = np.asarray(names, dtype=object)
    present = np.array([x is not None for x in arr], dtype=bool) if n else np.zeros(0, bool)
    uniques, sub = _encode(arr[present])
    codes[present] = sub
    return uniques, codes
