"""App, client and project factories for the service tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service import projects
from service.app import create_app
from service.db import make_sessionmaker, transaction
from service.settings import Settings

ADMIN_KEY = "admin-key-for-tests"


@dataclass(frozen=True)
class ProjectKey:
    id: int
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def settings_for(url: str, **overrides: object) -> Settings:
    return Settings(database_url=url, admin_key=ADMIN_KEY, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def app(clean_database: Engine, database_url: str) -> FastAPI:
    return create_app(settings_for(database_url))


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def make_project(engine: Engine, name: str = "acme") -> ProjectKey:
    with transaction(make_sessionmaker(engine)) as session:
        project, key = projects.create_project(session, name=name)
        return ProjectKey(project.id, key)


@pytest.fixture
def project(clean_database: Engine) -> ProjectKey:
    return make_project(clean_database)
