"""Project administration: projects, keys and what has arrived."""

from __future__ import annotations

from fastapi import APIRouter, status

from service.api.deps import KEYED, Admin, Manager, Reader, SessionDep, own_project
from service.api.error_responses import refusals
from service.api.schemas import (
    KeyCreate,
    KeyCreated,
    KeyRead,
    ProjectCreate,
    ProjectCreated,
    ProjectPatch,
    ProjectRead,
    StatsRead,
)
from service.projects import counts, projects
from service.projects.erasure import erase_user
from service.projects.keys import check_grantable, parse_scopes
from service.storage.tables import Project

router = APIRouter(
    prefix="/v1/projects",
    tags=["projects"],
    dependencies=KEYED,
    responses=refusals(400, 401, 403, 404, 409, 422, 429),
)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_project(body: ProjectCreate, _: Admin, session: SessionDep) -> ProjectCreated:
    """Create a project and its first key (admin key required); optionally its time zone."""
    project, key = projects.create_project(session, name=body.name, time_zone=body.time_zone)
    return ProjectCreated(id=project.id, name=project.name, time_zone=project.time_zone, key=key)


@router.get("")
def list_projects(_: Admin, session: SessionDep) -> list[ProjectRead]:
    """All projects (admin key required)."""
    return [_read(p) for p in projects.list_projects(session)]


@router.get("/{project_id}")
def get_project(project_id: int, principal: Reader, session: SessionDep) -> ProjectRead:
    """The project and its settings (its declared time zone)."""
    own_project(principal, project_id)
    return _read(projects.get_project(session, project_id))


@router.patch("/{project_id}")
def update_project(
    project_id: int, body: ProjectPatch, principal: Manager, session: SessionDep
) -> ProjectRead:
    """Change the project's settings: `{"time_zone": "Europe/Berlin"}` declares its zone for
    audits that set none, `{"time_zone": null}` clears it. Stored reports keep theirs."""
    own_project(principal, project_id)
    project = projects.get_project(session, project_id)
    if "time_zone" in body.model_fields_set:
        project = projects.set_time_zone(session, project_id, body.time_zone)
    return _read(project)


def _read(project: Project) -> ProjectRead:
    return ProjectRead(
        id=project.id, name=project.name, created_at=project.created_at, time_zone=project.time_zone
    )


@router.get("/{project_id}/stats")
def project_stats(project_id: int, principal: Reader, session: SessionDep) -> StatsRead:
    """What has arrived: events, users, mechanics, first and last timestamps."""
    own_project(principal, project_id)
    return StatsRead.model_validate(counts.stats(session, project_id))


@router.post("/{project_id}/keys", status_code=status.HTTP_201_CREATED)
def create_key(
    project_id: int, body: KeyCreate, principal: Manager, session: SessionDep
) -> KeyCreated:
    """Create another key for the project with some of the scopes of the key that asks (the
    new key is shown only once)."""
    own_project(principal, project_id)
    check_grantable(principal.scopes, body.scopes)
    row, key = projects.create_key(
        session, project_id=project_id, name=body.name, scopes=tuple(body.scopes)
    )
    return KeyCreated(id=row.id, key=key, scopes=sorted(parse_scopes(row.scopes)))


@router.get("/{project_id}/keys")
def list_keys(project_id: int, principal: Manager, session: SessionDep) -> list[KeyRead]:
    """The project's keys (prefixes only; keys themselves are never stored)."""
    own_project(principal, project_id)
    return [
        KeyRead(
            id=k.id,
            name=k.name,
            prefix=k.prefix,
            scopes=k.scopes.split(","),
            created_at=k.created_at,
            revoked_at=k.revoked_at,
        )
        for k in projects.list_keys(session, project_id)
    ]


@router.delete("/{project_id}/keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_key(project_id: int, key_id: int, principal: Manager, session: SessionDep) -> None:
    """Revoke a key; it stops working at once."""
    own_project(principal, project_id)
    projects.revoke_key(session, project_id=project_id, key_id=key_id)


@router.delete("/{project_id}/users/{user_id}")
def erase(project_id: int, user_id: str, principal: Manager, session: SessionDep) -> dict[str, int]:
    """Erase a user: their events and their rows in stored per-user results."""
    own_project(principal, project_id)
    return erase_user(session, project_id=project_id, user_id=user_id)
