"""Markers of harm and of reward-prediction-error exposure, per user: every marker is computed
per unit (one user on one mechanic) from flat arrays in one vectorised pass; mechanic summaries
(medians, shares, Gini) are taken over the units at merge time. Regulators ask gambling
operators to watch the same kinds of behaviour (UK Gambling Commission 2023 customer interaction
guidance: spend, patterns of spend, time spent gambling, gambling behaviour indicators); the
thresholds applied to these markers (models/risk.py, models/rules/) are chosen by us, not taken
from that guidance or from published studies.
"""

from models.markers.concentration import gini, lorenz, top_share
from models.markers.prediction_errors import (
    aversive_expectation,
    count_since,
    count_state,
    front_loading,
    option_concentration,
    rpe_balance,
    rpe_persistence,
    state_rpe,
    time_state,
)
from models.markers.significance import night_sessions_test, stake_chasing
from models.markers.timing import is_night, night_share, post_reward_pause, session_trends

__all__ = [
    "aversive_expectation",
    "count_since",
    "count_state",
    "front_loading",
    "gini",
    "is_night",
    "lorenz",
    "night_sessions_test",
    "night_share",
    "option_concentration",
    "post_reward_pause",
    "rpe_balance",
    "rpe_persistence",
    "session_trends",
    "stake_chasing",
    "state_rpe",
    "time_state",
    "top_share",
]
