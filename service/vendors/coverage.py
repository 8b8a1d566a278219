"""Coverage: how many stored raw events each mapping rule (and the defaults) maps or fails to
map, and the commonest event names no mapping rule matches (to write the next one)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.storage.tables import RawEvent
from service.vendors.mapping_rules import DEFAULT_PROPERTIES, DEFAULTS
from service.vendors.mapping_store import load_mapping_rules


def coverage(session: Session, project_id: int, *, top: int = 20) -> dict[str, Any]:
    """The mapping and how many stored raw events each mapping rule maps (and fails to map)."""
    mapping_rules = load_mapping_rules(session, project_id)
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
        "rules": [
            {**mapping_rule.as_dict(), **counts.get(mapping_rule.position, empty)}
            for mapping_rule in mapping_rules
        ],
        "defaults": {"properties": DEFAULT_PROPERTIES, **counts.get(DEFAULTS, empty)},
        "raw_events": total,
        "mapped": mapped_total,
        "unmapped": total - mapped_total,
        "unmatched_event_names": [{"event_name": name, "events": n} for name, n in unmatched],
    }
