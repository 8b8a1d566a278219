"""App, client and project factories for the service tests."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.app import create_app
from service.audits.worker import run_one
from service.projects import projects
from service.settings import Settings
from service.storage.db import make_sessionmaker, transaction

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


def finish_audit(
    client: TestClient, project: ProjectKey, engine: Engine, audit_id: str, timeout_s: float = 120.0
) -> dict[str, Any]:
    """Run the queued audits here, then wait for `audit_id` to end, and return its resource.

    On SQLite the app's own in-process worker may claim an audit first: then there is nothing
    queued to run here, and the audit is awaited instead.
    """
    factory = make_sessionmaker(engine)
    while run_one(factory, worker="test-worker") is not None:
        pass
    deadline = time.monotonic() + timeout_s
    while True:
        done: dict[str, Any] = client.get(f"/v1/audits/{audit_id}", headers=project.auth).json()
        if done["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return done
        time.sleep(0.05)


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The log of the test; it must end without a single traceback."""
    caplog.set_level(logging.INFO)
    yield caplog
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert not tracebacks, [r.getMessage() for r in tracebacks]
