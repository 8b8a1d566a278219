"""The per-user table: one row per (user, mechanic), as named columns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class UserTable:
    """Per-unit results, one row per (user, mechanic), as named (u,) columns.

    Identity: user_id, mechanic (str). Activity: responses, sessions, spend, payout, wins.
    Engagement fit: fit_status, n_obs, engagement_alpha(_lo/_hi), b0, b_v, b_delta, b_delta_se,
    b_delta_p, loglik, loglik_null, lr_stat, p_value, aic_delta, reward_scale (maximum
    likelihood); after merging also the population fit's engagement_alpha_eb, b_v_eb and
    b_delta_eb with their 95 % intervals (_lo/_hi) and engagement_log_bf.
    Choice fit: choice_status, choices, choice_alpha(_lo/_hi), beta(_lo/_hi), choice_loglik,
    choice_bic_delta (α and β: maximum likelihood per partition, posterior modes after merging).
    Discounting: discount_status, wait_or_pay, discount_k, indifference_delay_s, price_share.
    Markers: night_share, night_session_share (sessions of known local time starting at night:
    what the night-play test counts), session_escalation, frequency_escalation, post_reward_pause,
    rpe_persistence_count/_time, rpe_balance_count/_time, front_loading, option_concentration,
    aversive_share, aversive_expectation. After merging also: alpha(_lo/_hi), alpha_source,
    rpe_persistence, rpe_balance, risk_tier and one boolean column per risk marker
    ("raised_<name>").
    """

    columns: dict[str, NDArray[Any]]

    def __len__(self) -> int:
        return int(self.columns["user_id"].shape[0]) if self.columns else 0

    def __getitem__(self, name: str) -> NDArray[Any]:
        return self.columns[name]

    def take(self, index: NDArray[np.intp] | NDArray[np.bool_]) -> UserTable:
        return UserTable({k: v[index] for k, v in self.columns.items()})

    def with_columns(self, **extra: NDArray[Any]) -> UserTable:
        return UserTable(self.columns | extra)

    @staticmethod
    def concatenate(tables: Sequence[UserTable]) -> UserTable:
        tables = [t for t in tables if len(t)]
        if not tables:
            return UserTable({})
        return UserTable(
            {k: np.concatenate([t.columns[k] for t in tables]) for k in tables[0].columns}
        )
