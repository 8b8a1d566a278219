"""Columnar native events: the boundary between the service (rows) and the models (arrays).

The service (from SQL rows) and the offline CLI (from files) both build one `EventColumns`;
everything in `models` starts from it. Events may arrive in any order; nothing here sorts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

RESPONSE: int = 0
REWARD: int = 1
NO_OPTION: int = -1
NO_SESSION: int = -1
# an event that sent no zone offset (a sent 0 is UTC): the smallest int32, far outside ±14 h
OFFSET_UNKNOWN: int = -(2**31)


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
    def from_arrays(
        cls,
        *,
        user_id: NDArray[np.object_] | list[str],
        mechanic: NDArray[np.object_] | list[str],
        kind: NDArray[np.int8] | list[int],
        t: NDArray[np.float64] | list[float],
        value: NDArray[np.float64] | list[float] | None = None,
        cost: NDArray[np.float64] | list[float] | None = None,
        option: NDArray[np.object_] | list[str | None] | None = None,
        session_id: NDArray[np.object_] | list[str | None] | None = None,
        utc_offset_s: NDArray[np.int32] | list[int] | None = None,
        delay_s: NDArray[np.float64] | list[float] | None = None,
    ) -> EventColumns:
        """Encode string columns as codes; absent optional columns take their defaults.

        `option` and `session_id` may hold None for "absent".
        """
        t_arr = np.asarray(t, dtype=np.float64)
        n = t_arr.shape[0]
        user_names, user_codes = _encode(np.asarray(user_id, dtype=object))
        mech_names, mech_codes = _encode(np.asarray(mechanic, dtype=object))
        opt_names, opt_codes = _encode_optional(option, n)
        _, sess_codes = _encode_optional(session_id, n)
        return cls(
            user=user_codes.astype(np.int64),
            mechanic=mech_codes.astype(np.int32),
            kind=np.asarray(kind, dtype=np.int8),
            t=t_arr,
            value=_floats(value, n, 0.0),
            cost=_floats(cost, n, 0.0),
            option=opt_codes.astype(np.int32),
            session=sess_codes.astype(np.int64),
            utc_offset_s=(
                np.full(n, OFFSET_UNKNOWN, dtype=np.int32)
                if utc_offset_s is None
                else np.asarray(utc_offset_s, dtype=np.int32)
            ),
            delay_s=_floats(delay_s, n, np.nan),
            user_ids=user_names,
            mechanics=mech_names,
            options=opt_names,
        )

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
        return EventColumns(
            user=pick(self.user),
            mechanic=pick(self.mechanic),
            kind=pick(self.kind),
            t=pick(self.t),
            value=pick(self.value),
            cost=pick(self.cost),
            option=pick(self.option),
            session=pick(self.session),
            utc_offset_s=pick(self.utc_offset_s),
            delay_s=pick(self.delay_s),
            user_ids=self.user_ids,
            mechanics=self.mechanics,
            options=self.options,
        )


def _floats(
    values: NDArray[np.float64] | list[float] | None, n: int, default: float
) -> NDArray[np.float64]:
    if values is None:
        return np.full(n, default, dtype=np.float64)
    return np.asarray(values, dtype=np.float64)


def _encode(names: NDArray[np.object_]) -> tuple[tuple[str, ...], NDArray[np.intp]]:
    if names.shape[0] == 0:
        return (), np.zeros(0, dtype=np.intp)
    uniques, codes = np.unique(names.astype(str), return_inverse=True)
    return tuple(str(u) for u in uniques), codes


def _encode_optional(
    names: NDArray[np.object_] | list[str | None] | None, n: int
) -> tuple[tuple[str, ...], NDArray[np.intp]]:
    codes = np.full(n, -1, dtype=np.intp)
    if names is None:
        return (), codes
    arr = np.asarray(names, dtype=object)
    present = np.array([x is not None for x in arr], dtype=bool) if n else np.zeros(0, bool)
    uniques, sub = _encode(arr[present])
    codes[present] = sub
    return uniques, codes
