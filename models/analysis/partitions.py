"""Partitions of users: how events are split by user, and what one partition's analysis
holds for the merge (its per-user rows, mechanic sums and population-fit grids)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from models import choice as choice_model
from models import engagement
from models.amounts import AMOUNT_USERS, AmountBounds
from models.analysis.config import AnalysisConfig
from models.analysis.table import UserTable
from models.columns import EventColumns
from models.exactsum import ExactSums
from models.schedule import ScheduleStats

N_EXPOSURE = 32  # log₂ bins of a response's ordinal in its user's history


@dataclass(frozen=True, kw_only=True)
class MechanicPartial:
    """Sums over one partition's users of one mechanic.

    night_responses / local_time_responses: responses at night / of known local time
    disguised_losses: paid responses that returned something, but less than their cost
    exposure_*: by log₂ response ordinal (N_EXPOSURE bins): responses, and exact sums of |δ| of
    the count and time learners and of payouts (exact, so partitions add up to the same bits).
    """

    schedule: ScheduleStats
    events: int
    night_responses: int
    local_time_responses: int
    disguised_losses: int
    orphan_rewards: int
    exposure_n: NDArray[np.int64]
    exposure_abs_delta_count: ExactSums
    exposure_abs_delta_time: ExactSums
    exposure_payout: ExactSums


@dataclass(frozen=True, kw_only=True)
class PartialAnalysis:
    """The result of one partition of users, to be merged; `bounds` are the caps on amounts
    it was analysed with (every partition of an audit must share them)."""

    config: AnalysisConfig
    bounds: AmountBounds
    mechanics: dict[str, MechanicPartial]
    users: UserTable
    events: int
    first_t: float
    last_t: float
    choice: dict[str, choice_model.ChoiceGrids] = field(default_factory=dict)
    engagement: dict[str, engagement.EngagementGrids] = field(default_factory=dict)


def split_by_user(columns: EventColumns, n_partitions: int) -> list[EventColumns]:
    """Split events into at most `n_partitions` parts by user (contiguous user codes, balanced
    by event count); every user's events land in one part. Code tables are kept.

    To analyse parts separately and `merge` them, give every part the same
    `AnalysisConfig.observed_until` (e.g. the latest event of the whole set).
    """
    return list(iter_user_partitions(columns, n_partitions))


def iter_user_partitions(columns: EventColumns, n_partitions: int) -> Iterator[EventColumns]:
    """The parts of `split_by_user`, made one at a time (a caller that hands each part on
    before asking for the next holds one part's copy, not all of them)."""
    n_users = len(columns.user_ids)
    if n_partitions <= 1 or n_users <= 1 or len(columns) == 0:
        yield columns
        return
    per_user = np.bincount(columns.user, minlength=n_users)
    cum = np.cumsum(per_user)
    bounds = np.searchsorted(cum, np.arange(1, n_partitions) * cum[-1] / n_partitions, side="left")
    part_of_user = np.searchsorted(np.unique(bounds), np.arange(n_users), side="right")
    parts = np.unique(part_of_user)
    if bool(np.all(columns.user[1:] >= columns.user[:-1])):
        # events grouped by user (as the service reads them): each part is a run of rows
        ends = np.cumsum(np.bincount(part_of_user, weights=per_user))[parts].astype(np.int64)
        for lo, hi in zip([0, *ends[:-1].tolist()], ends.tolist(), strict=True):
            yield columns.rows(lo, hi)
        return
    part = np.searchsorted(parts, part_of_user)[columns.user]
    part = part.astype(np.uint16 if parts.shape[0] <= 1 << 16 else np.int64)
    # one stable radix sort of the events by part (numpy sorts 16-bit keys by radix), then
    # each part is a run of increasing positions: one gather per part, where a mask per part
    # scanned every event once per part
    order = np.argsort(part, kind="stable")
    ends = np.cumsum(np.bincount(part, minlength=parts.shape[0]))
    del part
    for lo, hi in zip([0, *ends[:-1].tolist()], ends.tolist(), strict=True):
        yield columns.take(order[lo:hi])


def with_window_end(columns: EventColumns, config: AnalysisConfig) -> AnalysisConfig:
    """`config` with the observation window ending at the latest event that at least
    `AMOUNT_USERS` users reached (the `AMOUNT_USERS`-th latest of users' last events; the
    latest event with fewer users), unless it sets one. One forged event decades ahead then
    does not end the window for everyone; events after the end count as censored. Every
    partition of an audit must share the window's end, or their censoring would differ."""
    if config.observed_until is not None or len(columns) == 0:
        return config
    last = np.full(len(columns.user_ids), -np.inf)
    finite = np.isfinite(columns.t)
    np.maximum.at(last, columns.user[finite], columns.t[finite])
    last = last[np.isfinite(last)]
    if last.size == 0:
        return config
    k = min(AMOUNT_USERS, last.size)
    end = float(-np.partition(-last, k - 1)[k - 1])
    return dataclasses.replace(config, observed_until=end)
