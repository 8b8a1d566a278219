"""Mappings: how a project's vendor events (Segment, PostHog, …) become native events.

A mapping is an ordered list of rules; the first rule whose event name and property filters
match a vendor event decides its mechanic and kind, and which properties carry its value,
cost and option. Where no rule matches, an event whose properties are themselves named
`mechanic` and `kind` maps by those names (the defaults). Anything else is kept raw only and
ignored by audits.

Native events from vendors are always what the current mapping makes of the stored raw
events: replacing the mapping re-maps every stored raw event, adding, changing or removing
the native events derived from them (native events posted to `/v1/events` are never touched).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from models.columns import EVENT_FIELDS, MAX_UTC_OFFSET_S
from service.ingestion.events import EventRecord, EventRejected, Rejection, validate_event
from service.storage.tables import Event, RawEvent
from service.storage.tables import Mapping as MappingRow
from service.vendors import adapters
from service.vendors.adapters.common import VendorEvent, dig

DEFAULTS = -1  # the rule position recorded for events mapped by the default property names
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
REMAP_CHUNK = 1_000


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: vendor event name (and property filters) → mechanic, kind, properties."""

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

    `rule` is the matching rule's position (`DEFAULTS` for the default names, None when
    nothing matched); `native` the native event when one could be made; `failure` why not
    when a rule matched but its properties do not fit (e.g. a cost that is not a number).
    """

    rule: int | None
    native: dict[str, Any] | None = None
    failure: Rejection | None = None
    sources: dict[str, str] = field(default_factory=dict)  # native field → vendor property

    def explain(self, rejection: Rejection) -> Rejection:
        """A native validation failure in the vendor's terms (which property was wrong)."""
        source = self.sources.get(rejection.field)
        if source is None:
            return rejection
        return Rejection(source, rejection.reason)


def apply(rules: Sequence[Rule], event: VendorEvent) -> Outcome:
    """The native event `rules` (or the defaults) make of `event`, if any."""
    for rule in rules:
        if rule.matches(event):
            return _native(
                event,
                rule=rule.position,
                mechanic=rule.mechanic,
                kind=rule.kind,
                value_property=rule.value_property or DEFAULT_PROPERTIES["value"],
                cost_property=rule.cost_property or DEFAULT_PROPERTIES["cost"],
                option_property=rule.option_property or DEFAULT_PROPERTIES["option"],
            )
    mechanic = event.properties.get(DEFAULT_PROPERTIES["mechanic"])
    kind = event.properties.get(DEFAULT_PROPERTIES["kind"])
    if mechanic is None or kind is None:
        return Outcome(rule=None)
    if not isinstance(mechanic, str) or not mechanic:
        return Outcome(DEFAULTS, failure=Rejection("properties.mechanic", "must be a name"))
    if kind not in ("response", "reward"):
        return Outcome(
            DEFAULTS, failure=Rejection("properties.kind", "must be 'response' or 'reward'")
        )
    return _native(
        event,
        rule=DEFAULTS,
        mechanic=mechanic,
        kind=kind,
        value_property=DEFAULT_PROPERTIES["value"],
        cost_property=DEFAULT_PROPERTIES["cost"],
        option_property=DEFAULT_PROPERTIES["option"],
    )


def _native(
    event: VendorEvent,
    *,
    rule: int,
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
                rule, failure=Rejection(f"properties.{amount_property}", "must be a number")
            )
        native[amount_field] = number
        sources[amount_field] = f"properties.{amount_property}"
    option = dig(event.properties, option_property)
    if option is not None:
        if isinstance(option, bool) or not isinstance(option, str | int | float):
            return Outcome(
                rule, failure=Rejection(f"properties.{option_property}", "must be a name")
            )
        native["option"] = option if isinstance(option, str) else _option_text(option)
        sources["option"] = f"properties.{option_property}"
    return Outcome(rule, native=native, sources=sources)


def _utc_offset(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value) if abs(value) <= MAX_UTC_OFFSET_S else None


def _number(value: Any) -> float | None:
    """A finite number from a number or numeric text (several vendors send text)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
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


# --- storage -----------------------------------------------------------------------------


def load_rules(session: Session, project_id: int) -> tuple[Rule, ...]:
    rows = session.scalars(
        select(MappingRow).where(MappingRow.project_id == project_id).order_by(MappingRow.position)
    )
    return tuple(
        Rule(
            position=row.position,
            event_name=row.event_name,
            mechanic=row.mechanic,
            kind=row.kind,
            filters=row.filters,
            value_property=row.value_property,
            cost_property=row.cost_property,
            option_property=row.option_property,
        )
        for row in rows
    )


@dataclass(frozen=True, slots=True)
class Remapped:
    """What replacing a mapping did to the native events derived from raw vendor events."""

    added: int = 0
    changed: int = 0
    removed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "changed": self.changed, "removed": self.removed}


def replace_rules(
    session: Session,
    *,
    project_id: int,
    rules: Sequence[Rule],
    now: datetime,
    future_tolerance_s: float,
) -> Remapped:
    """Make `rules` the project's mapping, then re-map every stored raw event under it."""
    session.execute(delete(MappingRow).where(MappingRow.project_id == project_id))
    session.flush()
    ordered = [
        Rule(
            position=position,
            event_name=rule.event_name,
            mechanic=rule.mechanic,
            kind=rule.kind,
            filters=rule.filters,
            value_property=rule.value_property,
            cost_property=rule.cost_property,
            option_property=rule.option_property,
        )
        for position, rule in enumerate(rules)
    ]
    session.add_all(
        MappingRow(
            project_id=project_id,
            position=rule.position,
            event_name=rule.event_name,
            filters=dict(rule.filters) if rule.filters else None,
            mechanic=rule.mechanic,
            kind=rule.kind,
            value_property=rule.value_property,
            cost_property=rule.cost_property,
            option_property=rule.option_property,
            created_at=now,
        )
        for rule in ordered
    )
    session.flush()
    return remap(
        session,
        project_id=project_id,
        rules=ordered,
        now=now,
        future_tolerance_s=future_tolerance_s,
    )


def remap(
    session: Session,
    *,
    project_id: int,
    rules: Sequence[Rule],
    now: datetime,
    future_tolerance_s: float,
) -> Remapped:
    """Bring the native events derived from the project's raw events in line with `rules`.

    Works through the raw events in chunks (keyset by id), and writes only what differs.
    """
    # Imported here: ingestion imports this module for the rules.
    from service.ingestion.store import store_events

    added = changed = removed = 0
    for chunk in _raw_chunks(session, project_id):
        ids = [row.message_id for row in chunk]
        existing = {
            row.message_id: row
            for row in session.execute(
                select(Event).where(
                    Event.project_id == project_id,
                    Event.message_id.in_(ids),
                    Event.source != "native",
                )
            ).scalars()
        }
        to_delete: list[str] = []
        to_insert: dict[str, list[EventRecord]] = {}
        raw_updates: list[dict[str, Any]] = []
        for raw in chunk:
            event = stored_vendor_event(raw)
            outcome = apply(rules, event)
            record = _record(outcome, now=now, future_tolerance_s=future_tolerance_s)
            current = existing.get(raw.message_id)
            if current is not None and (record is None or not _same_event(current, record)):
                to_delete.append(raw.message_id)
                if record is None:
                    removed += 1
                else:
                    changed += 1
            if record is not None and (current is None or not _same_event(current, record)):
                to_insert.setdefault(raw.source, []).append(record)
                if current is None:
                    added += 1
            mapped = record is not None
            if raw.mapped != mapped or raw.rule_position != outcome.rule:
                raw_updates.append({"id": raw.id, "mapped": mapped, "rule_position": outcome.rule})
        if to_delete:
            session.execute(
                delete(Event).where(
                    Event.project_id == project_id,
                    Event.message_id.in_(to_delete),
                    Event.source != "native",
                )
            )
        for source, records in to_insert.items():
            store_events(session, project_id=project_id, records=records, source=source, now=now)
        if raw_updates:
            session.execute(update(RawEvent), raw_updates)
    return Remapped(added=added, changed=changed, removed=removed)


def _raw_chunks(session: Session, project_id: int) -> Iterator[list[RawEvent]]:
    last = 0
    while True:
        chunk = list(
            session.scalars(
                select(RawEvent)
                .where(RawEvent.project_id == project_id, RawEvent.id > last)
                .order_by(RawEvent.id)
                .limit(REMAP_CHUNK)
            )
        )
        if not chunk:
            return
        yield chunk
        last = chunk[-1].id
        session.expunge_all()


def _record(outcome: Outcome, *, now: datetime, future_tolerance_s: float) -> EventRecord | None:
    if outcome.native is None:
        return None
    try:
        return validate_event(outcome.native, now=now, future_tolerance_s=future_tolerance_s)
    except EventRejected:
        return None


# What a re-mapping may change of a stored event: every field but its id.
_MAPPED_FIELDS = attrgetter(*(f.name for f in EVENT_FIELDS if f.name != "message_id"))


def _same_event(row: Event, record: EventRecord) -> bool:
    return bool(_MAPPED_FIELDS(row) == _MAPPED_FIELDS(record))


def stored_vendor_event(raw: RawEvent) -> VendorEvent:
    """The vendor event a stored raw row was made from, read again by its adapter."""
    properties, timezone = adapters.reading(raw.source, raw.payload)
    return VendorEvent(
        source=raw.source,
        message_id=raw.message_id,
        event_name=raw.event_name,
        user_id=raw.user_id,
        ts=raw.ts,
        properties=properties,
        payload=raw.payload,
        timezone=timezone,
    )


# --- coverage ----------------------------------------------------------------------------


def coverage(session: Session, project_id: int, *, top: int = 20) -> dict[str, Any]:
    """The mapping and how many stored raw events each rule maps (and fails to map)."""
    rules = load_rules(session, project_id)
    counts: dict[int | None, dict[str, int]] = {}
    for position, mapped, count in session.execute(
        select(RawEvent.rule_position, RawEvent.mapped, func.count())
        .where(RawEvent.project_id == project_id)
        .group_by(RawEvent.rule_position, RawEvent.mapped)
    ):
        entry = counts.setdefault(position, {"events": 0, "failed": 0})
        entry["events" if mapped else "failed"] += count
    unmatched = session.execute(
        select(RawEvent.event_name, func.count().label("n"))
        .where(RawEvent.project_id == project_id, RawEvent.rule_position.is_(None))
        .group_by(RawEvent.event_name)
        .order_by(func.count().desc(), RawEvent.event_name)
        .limit(top)
    ).all()
    total = sum(c["events"] + c["failed"] for c in counts.values())
    mapped_total = sum(c["events"] for c in counts.values())
    empty = {"events": 0, "failed": 0}
    return {
        "project_id": project_id,
        "rules": [{**rule.as_dict(), **counts.get(rule.position, empty)} for rule in rules],
        "defaults": {"properties": DEFAULT_PROPERTIES, **counts.get(DEFAULTS, empty)},
        "raw_events": total,
        "mapped": mapped_total,
        "unmapped": total - mapped_total,
        "unmatched_event_names": [{"event_name": name, "events": n} for name, n in unmatched],
    }
