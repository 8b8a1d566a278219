"""Mappings: how a project's vendor events become native events."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from service.api.deps import KEYED, Manager, Reader, SessionDep, SettingsDep, own_project
from service.api.error_responses import refusals
from service.api.schemas import MappingPut, MappingRead
from service.vendors import coverage, mapping_store
from service.vendors.mapping_rules import MappingRule

router = APIRouter(
    prefix="/v1/projects",
    tags=["mappings"],
    dependencies=KEYED,
    responses=refusals(400, 401, 403, 422, 429),
)


@router.get("/{project_id}/mappings")
def get_mappings(project_id: int, principal: Reader, session: SessionDep) -> MappingRead:
    """The mapping, and how many stored vendor events each mapping rule (and the defaults) maps."""
    own_project(principal, project_id)
    return MappingRead.model_validate(coverage.coverage(session, project_id))


@router.put("/{project_id}/mappings")
def put_mappings(
    project_id: int,
    body: MappingPut,
    principal: Manager,
    session: SessionDep,
    settings: SettingsDep,
) -> MappingRead:
    """Replace the mapping and re-map every stored vendor event under it."""
    own_project(principal, project_id)
    remapped = mapping_store.replace_mapping_rules(
        session,
        project_id=project_id,
        mapping_rules=[
            MappingRule(
                position=position,
                event_name=mapping_rule.event_name,
                filters=mapping_rule.filters,
                mechanic=mapping_rule.mechanic,
                kind=mapping_rule.kind,
                value_property=mapping_rule.value_property,
                cost_property=mapping_rule.cost_property,
                option_property=mapping_rule.option_property,
            )
            for position, mapping_rule in enumerate(body.rules)
        ],
        now=datetime.now(UTC),
        future_tolerance_s=settings.future_tolerance_s,
        max_abs_value=settings.max_abs_value,
        max_cost=settings.max_cost,
    )
    return MappingRead.model_validate(
        {**coverage.coverage(session, project_id), "remapped": remapped.as_dict()}
    )
