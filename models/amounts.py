"""Bounded amounts: each response's cost and each reward's value counted up to an amount that
at least `AMOUNT_USERS` users of the mechanic reached.

Events come from client apps, so any one of them may be forged. An amount counts up to the
larger of two caps: the user's own second-largest amount of that kind on the mechanic (the
largest when it occurs twice), and the mechanic's cap. The mechanic's cost cap is the
`AMOUNT_USERS`-th largest of users' second-largest costs; its value caps (positive values,
sizes of negative ones) are the `AMOUNT_USERS`-th largest of users' largest values, over users
who made a response (a reward of a user without one is attached to nothing). Caps are 0 when
fewer users have such an amount.

So a user's habitual stakes and prizes, however large, count in full (a whale's stakes, a
jackpot won by a few users), and what a single event can add is bounded: one forged payment
cannot raise the cost cap (a new user with one event has no second-largest cost; an existing
user's second-largest rises at most to their own genuine largest), so it counts for no more
than the larger of the user's own genuine largest stake and a stake `AMOUNT_USERS` users paid
at least twice. A forged reward moves a value cap at most to the next-larger genuine maximum.
A kind of amount fewer than `AMOUNT_USERS` users have twice is not counted beyond each user's
own second-largest, so one paid event cannot make a free mechanic paid. Non-finite amounts
(which ingestion rejects) are never part of a user's figures: NaN counts as 0, ±inf as the cap.

The caps are a statistic of the whole audit, computed once before the users are split into
partitions and handed to each (`AmountBounds`), so partitions merge exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from models.columns import RESPONSE, EventColumns
from models.compiled import compiled

# the fewest users an amount must have reached to count in full (as the fewest flagged users
# behind the loss-chasing and night-engagement findings)
AMOUNT_USERS = 3


@dataclass(frozen=True, slots=True)
class AmountBounds:
    """Per mechanic name, the caps (cost, gain, loss): a response's cost, a positive reward
    value and the size of a negative one count up to their cap."""

    caps: tuple[tuple[str, float, float, float], ...]

    def of(self, mechanic: str) -> tuple[float, float, float]:
        for name, cost, gain, loss in self.caps:
            if name == mechanic:
                return cost, gain, loss
        return 0.0, 0.0, 0.0

    def as_dict(self, mechanic: str) -> dict[str, float]:
        cost, gain, loss = self.of(mechanic)
        return {"cost_cap": cost, "gain_cap": gain, "loss_cap": loss}


@compiled
def _top_two(
    group: NDArray[np.int64],
    amount: NDArray[np.float64],
    keep: NDArray[np.bool_],
    first: NDArray[np.float64],
    second: NDArray[np.float64],
) -> None:  # pragma: no cover - compiled; covered through `_user_maxima`
    for i in range(group.shape[0]):
        if keep[i]:
            g, x = group[i], amount[i]
            if x > first[g]:
                second[g] = first[g]
                first[g] = x
            elif x > second[g]:
                second[g] = x


def _user_maxima(
    amount: NDArray[np.float64], mask: NDArray[np.bool_], group: NDArray[np.int64], groups: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(groups,) per (mechanic, user) group, the largest and the second-largest finite
    positive `amount` where `mask` (0: none; a user with the largest twice has it as both).
    One compiled pass over the events."""
    keep = mask & np.isfinite(amount) & (amount > 0.0)
    first, second = np.zeros(groups), np.zeros(groups)
    _top_two(group, np.asarray(amount, dtype=np.float64), keep, first, second)
    return first, second


def amount_bounds(columns: EventColumns) -> AmountBounds:
    """The caps of every mechanic of `columns` (the whole audit, every user)."""
    n_users = max(len(columns.user_ids), 1)
    n_mech = len(columns.mechanics)
    group = columns.mechanic.astype(np.int64) * n_users + columns.user
    response = columns.kind == RESPONSE
    out: list[tuple[str, float, float, float]] = []
    groups = n_mech * n_users
    responded = np.zeros(groups, dtype=bool)
    responded[group[response]] = True
    # costs: each user's second-largest, which no single event can raise above that user's
    # own genuine largest (and a user with one event does not have)
    _, cost_second = _user_maxima(columns.cost, response, group, groups)
    # values: each user's largest, over users with a response (a reward of a user without
    # one is attached to nothing)
    gain_first, _ = _user_maxima(columns.value, ~response, group, groups)
    loss_first, _ = _user_maxima(-columns.value, ~response, group, groups)
    maxima = [
        cost_second,
        np.where(responded, gain_first, 0.0),
        np.where(responded, loss_first, 0.0),
    ]
    caps = []
    for per_user in maxima:
        table = per_user.reshape(n_mech, n_users)
        if n_users >= AMOUNT_USERS:
            kth = -np.partition(-table, AMOUNT_USERS - 1, axis=1)[:, AMOUNT_USERS - 1]
        else:
            kth = np.zeros(n_mech)
        caps.append(kth)
    for m, name in enumerate(columns.mechanics):
        out.append((name, float(caps[0][m]), float(caps[1][m]), float(caps[2][m])))
    return AmountBounds(caps=tuple(out))


def bounded_amounts(
    columns: EventColumns, bounds: AmountBounds
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(cost, value) of every event, each amount held to the larger of its mechanic's cap and
    its user's own second-largest amount of that kind on the mechanic (NaN: 0).

    The user's own term depends on that user's events only, so it is the same in any partition
    holding the user."""
    n_mech = len(columns.mechanics)
    if n_mech == 0 or len(columns) == 0:
        return columns.cost.astype(np.float64), columns.value.astype(np.float64)
    table = np.array([bounds.of(name) for name in columns.mechanics], dtype=np.float64)
    n_users = max(len(columns.user_ids), 1)
    groups = n_mech * n_users
    group = columns.mechanic.astype(np.int64) * n_users + columns.user
    response = columns.kind == RESPONSE
    own = [
        _user_maxima(columns.cost, response, group, groups)[1],
        _user_maxima(columns.value, ~response, group, groups)[1],
        _user_maxima(-columns.value, ~response, group, groups)[1],
    ]
    mech = columns.mechanic
    caps = [np.maximum(table[mech, j], own[j][group]) for j in range(3)]
    cost = np.nan_to_num(columns.cost, nan=0.0, posinf=np.inf, neginf=0.0)
    cost = np.clip(cost, 0.0, caps[0])
    value = np.nan_to_num(columns.value, nan=0.0, posinf=np.inf, neginf=-np.inf)
    value = np.clip(value, -caps[2], caps[1])
    return cost.astype(np.float64), value.astype(np.float64)
