"""The knobs of an audit and the model configurations they determine."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from models import choice as choice_model
from models import engagement, localtime


@dataclass(frozen=True, kw_only=True)
class AnalysisConfig:
    """Knobs of an audit (all JSON-able; the report records them).

    session_gap_s:        inactivity that ends a session
    min_responses_fit:    fewer observed continue/stop decisions → "insufficient_data"
    min_choices_fit:      fewer choices among options → choice model not fitted
    min_wait_or_pay:      fewer wait-or-pay offers → no discount rate
    min_marker_responses: fewer responses → per-user markers undefined
    min_sessions_trend:   fewer sessions → no session-escalation estimate
    alpha_grid, alpha_min, alpha_max: the learning-rate profile grid (logit-spaced)
    beta_max:             upper bound of the softmax inverse temperature
    v0:                   initial expectation of every learner
    marker_alpha:         learning rate of the state learners behind rpe_persistence/balance
    night_start_hour, night_end_hour: the night in the user's zone; night play is assessed
                          only where local time is known (`models.localtime`)
    time_zone:            the project's declared IANA zone (e.g. "Europe/Berlin") for events
                          that carry no offset of their own; None: their local time is unknown
    observed_until:       end of the observation window (epoch s); continuations after the last
                          responses within one session gap of it are censored. None: the latest
                          event analysed (set it when analysing partitions separately)
    partition_events:     events per partition inside `analyse` (bounds memory, not results)
    """

    session_gap_s: float = 1800.0
    min_responses_fit: int = 50
    min_choices_fit: int = 30
    min_wait_or_pay: int = 10
    min_marker_responses: int = 20
    min_sessions_trend: int = 6
    alpha_grid: int = 25
    alpha_min: float = 0.01
    alpha_max: float = 0.99
    beta_max: float = 50.0
    v0: float = 0.0
    marker_alpha: float = 0.2
    night_start_hour: float = 0.0
    night_end_hour: float = 6.0
    time_zone: str | None = None
    observed_until: float | None = None
    partition_events: int = 1_000_000

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AnalysisConfig:
        """Build from a (partial) mapping; ValueError names the first bad key."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {}
        for key, value in d.items():
            if key not in known:
                raise ValueError(f"unknown config key {key!r}")
            default = getattr(cls(), key)
            if key in ("observed_until", "time_zone") and value is None:
                values[key] = None
                continue
            if key == "time_zone":
                if not isinstance(value, str):
                    raise ValueError("config key 'time_zone' must be an IANA time zone name")
                localtime.check_time_zone(value)
                values[key] = value
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"config key {key!r} must be a number")
            if not math.isfinite(value):
                raise ValueError(f"config key {key!r} must be finite")
            if isinstance(default, int) and not isinstance(default, bool):
                if value != int(value):
                    raise ValueError(f"config key {key!r} must be an integer")
                values[key] = int(value)
            else:
                values[key] = float(value)
        config = cls(**values)
        config.check()
        return config

    def check(self) -> None:
        """Raise ValueError naming the first knob outside its domain."""
        rules: list[tuple[str, bool]] = [
            ("session_gap_s", self.session_gap_s > 0),
            ("min_responses_fit", self.min_responses_fit >= 5),
            ("min_choices_fit", self.min_choices_fit >= 2),
            ("min_wait_or_pay", self.min_wait_or_pay >= 2),
            ("min_marker_responses", self.min_marker_responses >= 3),
            ("min_sessions_trend", self.min_sessions_trend >= 3),
            ("alpha_grid", self.alpha_grid >= 5),
            ("alpha_min", 0.0 < self.alpha_min < self.alpha_max),
            ("alpha_max", self.alpha_min < self.alpha_max < 1.0),
            ("beta_max", self.beta_max > 0),
            ("marker_alpha", 0.0 < self.marker_alpha <= 1.0),
            ("night_start_hour", 0.0 <= self.night_start_hour <= 24.0),
            ("night_end_hour", 0.0 <= self.night_end_hour <= 24.0),
            ("partition_events", self.partition_events >= 1000),
        ]
        for key, ok in rules:
            if not ok:
                raise ValueError(f"config key {key!r} is out of range")


def engagement_config(config: AnalysisConfig) -> engagement.EngagementConfig:
    return engagement.EngagementConfig(
        alpha_grid=config.alpha_grid,
        alpha_min=config.alpha_min,
        alpha_max=config.alpha_max,
        v0=config.v0,
    )


def choice_config(config: AnalysisConfig) -> choice_model.ChoiceConfig:
    return choice_model.ChoiceConfig(
        alpha_grid=config.alpha_grid,
        alpha_min=config.alpha_min,
        alpha_max=config.alpha_max,
        beta_max=config.beta_max,
        v0=config.v0,
    )
