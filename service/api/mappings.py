"""Mappings: how a project's vendor events become native events."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from service.api.deps import Manager, Reader, SessionDep, SettingsDep, own_project
from service.api.schemas import MappingPut, MappingRead
from service.vendors import mapping_rules

router = APIRouter(prefix="/v1/projects", tags=["mappings"])


@router.get("/{project_id}/mappings")
def get_mappings(project_id: int, principal: Reader, session: SessionDep) -> MappingRead:
    """The mapping, and how many stored vendor events each rule (and the defaults) maps."""
    own_project(principal, project_id)
    return MappingRead.model_validate(mapping_rules.coverage(session, project_id))


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
    remapped = mapping_rules.replace_rules(
        session,
        project_id=project_id,
        rules=[
            mapping_rules.Rule(
                position=position,
                event_name=rule.event_name,
                filters=rule.filters,
                mechanic=rule.mechanic,
                kind=rule.kind,
                value_property=rule.value_property,
                cost_property=rule.cost_property,
                option_property=rule.option_property,
            )
            for position, rule in enumerate(body.rules)
        ],
        now=datetime.now(UTC),
        future_tolerance_s=settings.future_tolerance_s,
    )
    return MappingRead.model_validate(
        {**mapping_rules.coverage(session, project_id), "remapped": remapped.as_dict()}
    )
