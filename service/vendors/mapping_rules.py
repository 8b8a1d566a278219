"""Mapping rules: how a project's vendor events (Segment, PostHog, …) become native events.

A project's mapping is an ordered list of mapping rules; the first mapping rule whose event name
and property filters match a vendor event decides its mechanic and kind, and which properties
carry its value, cost and option. Where no mapping rule matches, an event whose properties are
themselves named `mechanic` and `kind` maps by those names (the defaults). Anything else is kept
raw only and ignored by audits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from models.columns import MAX_UTC_OFFSET_S
from service.ingestion.events import Rejection
from service.vendors.adapters.common import VendorEvent, dig

DEFAULTS = -1  # the position recorded for events mapped by the default property names
DEFAULT_PROPERTIES = {
    "mechanic": "mechanic",
    "kind": "kind",
    "value": "value",
    "cost": "cost",
    "option": "option",
}
ANY_EVENT = "*"
# Native properties the audit reads with a meaning of their own; a vendor's zone is passed
# only once it has been checked, so that a stray property cannot make the event unmappable.
_ZONE_PROPERTIES = ("timezone", "utc_offset_s")


@dataclass(frozen=True, slots=True)
class MappingRule:
    """Vendor event name (and property filters) → mechanic, kind, and the properties that carry
    value, cost and option."""

    position: int
    event_name: str
    mechanic: str
    kind: str  # "response" | "reward"
    filters: Mapping[str, Any] | None = None
    value_property: str | None = None
    cost_property: str | None = None
    option_property: str | None = None

    def matches(self, event: VendorEvent) -> bool:
        if self.event_name not in (ANY_EVENT, event.event_name):
            return False
        return all(_matches(dig(event.properties, path), expected) for path, expected in
                   (self.filters or {}).items())  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "event_name": self.event_name,
            "filters": dict(self.filters) if self.filters else None,
            "mechanic": self.mechanic,
            "kind": self.kind,
            "value_property": self.value_property,
            "cost_property": self.cost_property,
            "option_property": self.option_property,
        }


def _matches(actual: Any, expected: Any) -> bool:
    if isinstance(expected, list):
        return any(_same(actual, candidate) for candidate in expected)
    return _same(actual, expected)


def _same(actual: Any, expected: Any) -> bool:
    # JSON equality: true is not 1, and 1 is 1.0.
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    return bool(actual == expected)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a mapping makes of one vendor event.

    `position` is the matching mapping rule's position (`DEFAULTS` for the default names,
    None when nothing matched); `native` the native event when one could be made; `failure`
    why not when a mapping rule matched but its properties do not fit (e.g. a cost that is not
    a number).
    """

    position: int | None
    native: dict[str, Any] | None = None
    failure: Rejection | None = None
    sources: dict[str, str] = field(default_factory=dict)  # native field → vendor property

    def explain(self, rejection: Rejection) -> Rejection:
        """A native validation failure in the vendor's terms (which property was wrong)."""
        source = self.sources.get(rejection.field)
        if source is None:
            return rejection
        return Rejection(source, rejection.reason)


def map_event(mapping_rules: Sequence[MappingRule], event: VendorEvent) -> Outcome:
    """The native event `mapping_rules` (or the defaults) make of `event`, if any."""
    for mapping_rule in mapping_rules:
        if mapping_rule.matches(event):
            return _native(
                event,
                position=mapping_rule.position,
                mechanic=mapping_rule.mechanic,
                kind=mapping_rule.kind,
                value_property=mapping_rule.value_property or DEFAULT_PROPERTIES["value"],
                cost_property=mapping_rule.cost_property or DEFAULT_PROPERTIES["cost"],
                option_property=mapping_rule.option_property or DEFAULT_PROPERTIES["option"],
            )
    mechanic = event.properties.get(DEFAULT_PROPERTIES["mechanic"])
    kind = event.properties.get(DEFAULT_PROPERTIES["kind"])
    if mechanic is None or kind is None:
        return Outcome(position=None)
    if not isinstance(mechanic, str) or not mechanic:
        return Outcome(DEFAULTS, failure=Rejection("properties.mechanic", "must be a name"))
    if kind not in ("response", "reward"):
        return Outcome(
            DEFAULTS, failure=Rejection("properties.kind", "must be 'response' or 'reward'")
        )
    return _native(
        event,
        position=DEFAULTS,
        mechanic=mechanic,
        kind=kind,
        value_property=DEFAULT_PROPERTIES["value"],
        cost_property=DEFAULT_PROPERTIES["cost"],
        option_property=DEFAULT_PROPERTIES["option"],
    )


def _native(
    event: VendorEvent,
    *,
    position: int,
    mechanic: str,
    kind: str,
    value_property: str,
    cost_property: str,
    option_property: str,
) -> Outcome:
    properties = {k: v for k, v in event.properties.items() if k not in _ZONE_PROPERTIES}
    if event.timezone:
        properties["timezone"] = event.timezone
    elif _utc_offset(event.properties.get("utc_offset_s")) is not None:
        properties["utc_offset_s"] = event.properties["utc_offset_s"]
    native: dict[str, Any] = {
        "user_id": event.user_id,
        "timestamp": event.ts.isoformat(),
        "mechanic": mechanic,
        "kind": kind,
        "message_id": event.message_id,
        "properties": properties or None,
    }
    sources = {"mechanic": "mechanic", "kind": "kind"}
    amount_field, amount_property = (
        ("value", value_property) if kind == "reward" else ("cost", cost_property)
    )
    amount = dig(event.properties, amount_property)
    if amount is not None:
        number = _number(amount)
        if number is None:
            return Outcome(
                position, failure=Rejection(f"properties.{amount_property}", "must be a number")
            )
        native[amount_field] = number
        sources[amount_field] = f"properties.{amount_property}"
    option = dig(event.properties, option_property)
    if option is not None:
        if isinstance(option, bool) or not isinstance(option, str | int | float):
            return Outcome(
                position, failure=Rejection(f"properties.{option_property}", "must be a name")
            )
        native["option"] = option if isinstance(option, str) else _option_text(option)
        sources["option"] = f"properties.{option_property}"
    return Outcome(position, native=native, sources=sources)


def _utc_offset(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value) if abs(value) <= MAX_UTC_OFFSET_S else None


def _number(value: Any) -> float | None:
    """A finite number from a number or numeric text (several vendors send text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the double range
            return None
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _option_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
