"""The audit request: its fields validated, and the plan an audit follows (which events to
read, how to analyse them, which decision table to apply, with which threshold overrides)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from models import localtime
from models.analysis import AnalysisConfig
from models.rules import DEFAULT_TABLE, DecisionTable
from service.errors import InvalidInput
from service.storage.event_window import EventWindow
from service.text import storable

REQUEST_KEYS = frozenset({"mechanics", "from", "to", "config"})


@dataclass(frozen=True, slots=True)
class AuditPlan:
    """A validated audit request: what to read, how to analyse, which rules to apply."""

    window: EventWindow
    config: AnalysisConfig
    table: DecisionTable
    rule_overrides: dict[str, float]

    def config_dict(self) -> dict[str, Any]:
        return {
            "analysis": self.config.as_dict(),
            "rules": dict(sorted(self.rule_overrides.items())),
        }


def plan_audit(
    request: Mapping[str, Any],
    *,
    time_zone: str | None = None,
    table: DecisionTable = DEFAULT_TABLE,
) -> AuditPlan:
    """Validate an audit request (`mechanics`, `from`, `to`, `config`); errors name the field.

    `config` holds analysis settings (e.g. `session_gap_s`) and, under `rules`, threshold
    overrides keyed `rule-id.threshold` (e.g. `{"loss-chasing.min_share": 0.2}`).
    `time_zone`: the project's declared zone, the audit's unless `config` sets `time_zone`
    (a zone, or null for none); the plan's config, and so the report, records the one used.
    """
    unknown = set(request) - REQUEST_KEYS
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(sorted(unknown))}")
    mechanics = request.get("mechanics") or []
    if not isinstance(mechanics, list) or not all(
        isinstance(m, str) and m and storable(m) for m in mechanics
    ):
        raise InvalidInput(
            "mechanics: must be a list of mechanic names (UTF-8 text without NUL characters)"
        )
    start = _instant(request.get("from"), "from")
    end = _instant(request.get("to"), "to")
    if start is not None and end is not None and start >= end:
        raise InvalidInput("from: must be earlier than to")
    config = dict(request.get("config") or {})
    if time_zone is not None:
        try:
            localtime.check_time_zone(time_zone)
        except ValueError as exc:
            raise InvalidInput(f"time_zone: {exc}") from None
        config.setdefault("time_zone", time_zone)
    overrides = config.pop("rules", None) or {}
    if not isinstance(overrides, dict):
        raise InvalidInput("config.rules: must map 'rule-id.threshold' to a number")
    try:
        analysis = AnalysisConfig.from_dict(config)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"config: {exc}") from None
    try:
        ruled = table.with_overrides(overrides)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"config.rules: {exc}") from None
    return AuditPlan(
        window=EventWindow(start=start, end=end, mechanics=tuple(sorted(set(mechanics)))),
        config=analysis,
        table=ruled,
        rule_overrides={str(k): float(v) for k, v in overrides.items()},
    )


def _instant(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field}: must be an RFC 3339 timestamp")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field}: {value!r} is not RFC 3339") from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{field}: needs a time zone")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise InvalidInput(f"{field}: is outside the years 1 to 9999 in UTC") from None
