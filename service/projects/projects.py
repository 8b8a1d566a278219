"""Projects and their keys: creation, lookup by key, settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.localtime import check_time_zone
from service.errors import Conflict, InvalidInput, NotFound
from service.projects.keys import (
    DEFAULT_SCOPES,
    Scope,
    format_scopes,
    hash_key,
    new_key,
    parse_scopes,
)
from service.storage.tables import ApiKey, Project


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: a project, with the key it presented and that key's scopes."""

    project_id: int
    scopes: frozenset[Scope]
    key_id: int


def create_project(
    session: Session, *, name: str, time_zone: str | None = None
) -> tuple[Project, str]:
    """A new project and its first key (all scopes). The key is shown once, never stored."""
    checked_time_zone(time_zone)
    if session.scalar(select(Project.id).where(Project.name == name)) is not None:
        raise Conflict(f"a project named {name!r} exists")
    project = Project(name=name, created_at=datetime.now(UTC), time_zone=time_zone)
    session.add(project)
    session.flush()
    _, key = create_key(session, project_id=project.id, name="default", scopes=DEFAULT_SCOPES)
    return project, key


def create_key(
    session: Session, *, project_id: int, name: str, scopes: tuple[Scope, ...] | frozenset[Scope]
) -> tuple[ApiKey, str]:
    """A new key for the project; the key itself is returned once and only its digest kept."""
    key = new_key()
    row = ApiKey(
        project_id=project_id,
        name=name,
        prefix=key[:10],
        key_hash=hash_key(key),
        scopes=format_scopes(tuple(scopes)),
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return row, key


def revoke_key(session: Session, *, project_id: int, key_id: int) -> None:
    key = session.get(ApiKey, key_id)
    if key is None or key.project_id != project_id:
        raise NotFound(f"no key {key_id} in project {project_id}")
    key.revoked_at = datetime.now(UTC)


def principal_for_key(session: Session, key: str) -> Principal | None:
    row = session.execute(
        select(ApiKey.id, ApiKey.project_id, ApiKey.scopes).where(
            ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    return Principal(project_id=row.project_id, scopes=parse_scopes(row.scopes), key_id=row.id)


def get_project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"no project {project_id}")
    return project


def set_time_zone(session: Session, project_id: int, time_zone: str | None) -> Project:
    """Declare the project's IANA time zone (None: none). Audits queued or run from now on
    whose request sets no `time_zone` use it; stored reports keep the zone they used."""
    checked_time_zone(time_zone)
    project = get_project(session, project_id)
    project.time_zone = time_zone
    session.flush()
    return project


def declared_time_zone(session: Session, project_id: int) -> str | None:
    """The project's declared time zone, or None."""
    return session.scalar(select(Project.time_zone).where(Project.id == project_id))


def checked_time_zone(time_zone: str | None) -> str | None:
    """`time_zone` if it is None or an IANA name known here; else InvalidInput naming it."""
    if time_zone is not None:
        try:
            check_time_zone(time_zone)
        except ValueError as exc:
            raise InvalidInput(f"time_zone: {exc} (an IANA name such as 'Europe/Berlin')") from None
    return time_zone


def list_projects(session: Session) -> list[Project]:
    return list(session.scalars(select(Project).order_by(Project.id)))


def list_keys(session: Session, project_id: int) -> list[ApiKey]:
    return list(
        session.scalars(select(ApiKey).where(ApiKey.project_id == project_id).order_by(ApiKey.id))
    )
