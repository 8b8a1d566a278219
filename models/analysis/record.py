"""The per-user record: the flat tuple stored per (user, mechanic), and the nested row the
API serves from it.

`USER_RECORD` names the record's fields in order (the stored format: a new field list needs a
new stored format version). `USER_ROW` is the nested row's shape, with each field's name where
its value goes (a field may appear more than once); `user_row` fills it from a record.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

# the per-user table's columns in a user record, in order
ROW_COLUMNS: tuple[str, ...] = (
    "user_id", "mechanic", "responses", "alpha", "alpha_lo", "alpha_hi", "beta", "b_delta",
    "spend", "night_share", "session_escalation", "frequency_escalation", "post_reward_pause",
    "rpe_persistence", "rpe_balance", "front_loading", "option_concentration",
    "aversive_share", "aversive_expectation", "discount_k",
    "fit_status", "alpha_source", "sessions", "n_obs", "engagement_alpha",
    "engagement_alpha_lo", "engagement_alpha_hi", "b0", "b_v", "b_delta_se", "b_delta_p",
    "loglik", "loglik_null", "lr_stat", "p_value", "aic_delta", "reward_scale",
    "choice_status", "choices", "choice_alpha", "choice_alpha_lo", "choice_alpha_hi",
    "choice_loglik", "discount_status", "wait_or_pay", "indifference_delay_s", "price_share",
    "local_time_responses", "night_p", "session_escalation_p", "frequency_escalation_p",
    "chase_stake_effect", "chase_p",
)  # fmt: skip
# The fields of a user record (`Analysis.user_records`), in order: the table's columns, then
# the risk tier's name and the names of the markers that raised it.
USER_RECORD: tuple[str, ...] = (*ROW_COLUMNS, "risk_tier", "raised_by")


@dataclass(frozen=True, slots=True)
class Names:
    """A field holding a sequence of names, served as a JSON array."""

    field: str


# the row's markers and engagement-fit values, served under the record's own field names
_MARKERS = (
    "spend", "night_share", "session_escalation", "frequency_escalation", "post_reward_pause",
    "rpe_persistence", "rpe_balance", "front_loading", "option_concentration",
    "aversive_share", "aversive_expectation", "discount_k", "local_time_responses",
    "chase_stake_effect",
)  # fmt: skip
_FIT = (
    "b0", "b_v", "b_delta", "b_delta_se", "b_delta_p", "loglik", "loglik_null", "lr_stat",
    "p_value", "aic_delta", "reward_scale",
)  # fmt: skip

# The row's shape: a field's name where its value goes, a list of names for a pair (an
# interval), `Names` for a field listing names.
USER_ROW: dict[str, Any] = {
    "user_id": "user_id",
    "mechanic": "mechanic",
    "responses": "responses",
    "alpha": "alpha",
    "alpha_ci": ["alpha_lo", "alpha_hi"],
    "beta": "beta",
    "b_delta": "b_delta",
    "risk_tier": "risk_tier",
    "raised_by": Names("raised_by"),
    "markers": {name: name for name in _MARKERS},
    "tests": {
        "loss_chasing_p": "chase_p",
        "night_play_p": "night_p",
        "session_escalation_p": "session_escalation_p",
        "frequency_escalation_p": "frequency_escalation_p",
    },
    "fit": {
        "status": "fit_status",
        "alpha_source": "alpha_source",
        "sessions": "sessions",
        "decisions": "n_obs",
        "alpha": "engagement_alpha",
        "alpha_ci": ["engagement_alpha_lo", "engagement_alpha_hi"],
        **{name: name for name in _FIT},
        "choice": {
            "status": "choice_status",
            "choices": "choices",
            "alpha": "choice_alpha",
            "alpha_ci": ["choice_alpha_lo", "choice_alpha_hi"],
            "beta": "beta",
            "loglik": "choice_loglik",
        },
        "discounting": {
            "status": "discount_status",
            "offers": "wait_or_pay",
            "k": "discount_k",
            "indifference_delay_s": "indifference_delay_s",
            "price_share": "price_share",
        },
    },
}


def _fields(shape: Any) -> set[str]:
    if isinstance(shape, dict):
        return set().union(*(_fields(value) for value in shape.values()))
    if isinstance(shape, list):
        return set().union(*(_fields(value) for value in shape))
    return {shape.field if isinstance(shape, Names) else shape}


if _fields(USER_ROW) != set(USER_RECORD):
    raise ValueError("the user row's shape and the user record name different fields")


def _expression(shape: Any) -> str:
    """`shape` as one Python expression of a record `r`, each field at its position."""
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{key!r}: {_expression(v)}" for key, v in shape.items()) + "}"
    if isinstance(shape, list):
        return "[" + ", ".join(_expression(name) for name in shape) + "]"
    if isinstance(shape, Names):
        return f"list(r[{USER_RECORD.index(shape.field)}])"
    return f"r[{USER_RECORD.index(shape)}]"


# the shape compiled once into a single expression: a row is built as fast as by hand, with
# no per-field lookups (the shape holds only field names and keys of this module)
_FILL: Callable[[Sequence[Any]], dict[str, Any]] = eval(f"lambda r: {_expression(USER_ROW)}")


def user_row(record: Sequence[Any]) -> dict[str, Any]:
    """The per-user row (nested, as the API serves it) of a record of `USER_RECORD` fields."""
    row: dict[str, Any] = _FILL(record)
    return row
