"""`/docs` renders in headless Chromium with every request beyond the service refused (the
network off): Swagger UI lists every operation of the OpenAPI document and offers to send a key.
ReDoc, whose bundle loads a logo from the network, is not offered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Route, sync_playwright
from sqlalchemy import Engine

from tests.service.servers import serve
from tests.service.test_demo import CHROMIUM, CHROMIUM_ARGS

METHODS = {"get", "post", "put", "patch", "delete"}


Offline = tuple[str, Page, dict[str, Any]]


@pytest.fixture
def offline_page(clean_database: Engine, database_url: str) -> Iterator[Offline]:
    with (
        serve(database_url, RETENTION_AUDIT_RUN_AUDITS_IN_PROCESS="false") as base,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        seen: dict[str, Any] = {"refused": [], "errors": [], "failed": []}

        def only_the_service(route: Route) -> None:
            if route.request.url.startswith(base):
                route.continue_()
            else:
                seen["refused"].append(route.request.url)
                route.abort("internetdisconnected")

        page.route("**/*", only_the_service)
        page.on("pageerror", lambda e: seen["errors"].append(str(e)))
        page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
        page.on("requestfailed", lambda r: seen["failed"].append(r.url))
        yield base, page, seen
        browser.close()


def _operations(base: str) -> list[tuple[str, str]]:
    document = httpx.get(f"{base}/openapi.json").json()
    return [
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    ]


def test_swagger_ui_renders_every_operation_offline(
    offline_page: Offline,
) -> None:
    base, page, seen = offline_page
    operations = _operations(base)
    response = page.goto(f"{base}/docs")
    assert response is not None
    assert response.status == 200
    page.wait_for_selector(".opblock", timeout=30_000)
    page.wait_for_load_state("networkidle")
    shown = page.locator(".opblock").count()
    assert shown == len(operations) > 20
    assert page.locator("button.authorize").count() == 1  # the bearer scheme: send a key
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    assert {p.replace("\u200b", "") for p in paths} == {path for _, path in operations}
    assert seen == {"refused": [], "errors": [], "failed": []}


def test_redoc_is_not_offered(offline_page: Offline) -> None:
    base, _, _ = offline_page
    assert httpx.get(f"{base}/redoc").status_code == 404
