"""A project's mapping rules in the database: read in order, and replaced as a whole, which
re-maps every stored raw event (`service.vendors.remapping`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models.columns import MAX_ABS_VALUE, MAX_COST
from service.storage.tables import Mapping as MappingRow
from service.vendors.mapping_rules import MappingRule
from service.vendors.remapping import Remapped, remap


def load_mapping_rules(session: Session, project_id: int) -> tuple[MappingRule, ...]:
    """The project's mapping rules, in order."""
    rows = session.scalars(
        select(MappingRow).where(MappingRow.project_id == project_id).order_by(MappingRow.position)
    )
    return tuple(
        MappingRule(
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


def replace_mapping_rules(
    session: Session,
    *,
    project_id: int,
    mapping_rules: Sequence[MappingRule],
    now: datetime,
    future_tolerance_s: float,
    max_abs_value: float = MAX_ABS_VALUE,
    max_cost: float = MAX_COST,
) -> Remapped:
    """Make `mapping_rules` the project's mapping, then re-map every stored raw event under it."""
    session.execute(delete(MappingRow).where(MappingRow.project_id == project_id))
    session.flush()
    ordered = [
        MappingRule(
            position=position,
            event_name=mapping_rule.event_name,
            mechanic=mapping_rule.mechanic,
            kind=mapping_rule.kind,
            filters=mapping_rule.filters,
            value_property=mapping_rule.value_property,
            cost_property=mapping_rule.cost_property,
            option_property=mapping_rule.option_property,
        )
        for position, mapping_rule in enumerate(mapping_rules)
    ]
    session.add_all(
        MappingRow(
            project_id=project_id,
            position=mapping_rule.position,
            event_name=mapping_rule.event_name,
            filters=dict(mapping_rule.filters) if mapping_rule.filters else None,
            mechanic=mapping_rule.mechanic,
            kind=mapping_rule.kind,
            value_property=mapping_rule.value_property,
            cost_property=mapping_rule.cost_property,
            option_property=mapping_rule.option_property,
            created_at=now,
        )
        for mapping_rule in ordered
    )
    session.flush()
    return remap(
        session,
        project_id=project_id,
        mapping_rules=ordered,
        now=now,
        future_tolerance_s=future_tolerance_s,
        max_abs_value=max_abs_value,
        max_cost=max_cost,
    )
