"""The demo, end to end: the CLI simulates, ingests and audits a product; the report calls
each mechanic right; headless Chromium renders report.html with every chart visible."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine

from service.audits import jobs
from service.demo import run_until_done
from service.projects import projects
from service.storage.db import make_sessionmaker, transaction
from tests.service.servers import BIN, serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SEVERITY = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


@pytest.fixture
def demo(clean_database: Engine, database_url: str, tmp_path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [str(BIN / "retention-audit"), "demo"],
        env={**os.environ, "DATABASE_URL": database_url, "RETENTION_AUDIT_DATA_DIR": str(tmp_path)},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    key = re.search(r"key \(shown once\): (\S+)", out)
    audit = re.search(r"/v1/audits/([0-9a-f-]{36})/report\.html", out)
    assert key, out
    assert audit, out
    files = list((tmp_path / "reports").glob("*.html"))
    return {"key": key.group(1), "audit_id": audit.group(1), "output": out, "files": files}


def test_demo_report_calls_each_mechanic_right(demo: dict[str, Any], database_url: str) -> None:
    assert len(demo["files"]) == 1
    headers = {"Authorization": f"Bearer {demo['key']}"}
    with serve(database_url, RETENTION_AUDIT_RUN_AUDITS_IN_PROCESS="false") as base:
        report = httpx.get(f"{base}/v1/audits/{demo['audit_id']}", headers=headers).json()["report"]
    by_name = {m["mechanic"]: m for m in report["mechanics"]}
    slots, daily, steady = by_name["slots"], by_name["daily_reward"], by_name["quests"]
    assert slots["schedule"]["kind"] == "variable_ratio"
    assert "variable-ratio-reward" in {f["rule_id"] for f in slots["findings"]}
    assert daily["schedule"]["kind"] == "fixed_interval"
    assert all(SEVERITY[f["severity"]] <= SEVERITY["info"] for f in steady["findings"])


def test_chromium_renders_the_report_with_every_chart(
    demo: dict[str, Any], database_url: str, tmp_path: Path
) -> None:
    with (
        serve(database_url, RETENTION_AUDIT_RUN_AUDITS_IN_PROCESS="false") as base,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_extra_http_headers({"Authorization": f"Bearer {demo['key']}"})
        errors: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        url = f"{base}/v1/audits/{demo['audit_id']}/report.html"
        response = page.goto(url)
        assert response is not None
        assert response.status == 200
        page.wait_for_load_state("networkidle")
        figures = page.locator("figure[data-chart]")
        mechanics = page.locator("section[data-mechanic]").count()
        assert mechanics == 3
        assert figures.count() == 4 * mechanics
        for i in range(figures.count()):
            figure = figures.nth(i)
            figure.scroll_into_view_if_needed()
            assert figure.is_visible()
            box = figure.locator("svg").bounding_box()
            assert box is not None
            assert box["width"] > 200
            assert box["height"] > 100
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert errors == []
    # Self-contained: the page asked for nothing but itself.
    assert requests == [url]
    assert (tmp_path / "report.png").stat().st_size > 50_000


def test_the_demo_waits_for_any_finished_status(clean_database: Engine) -> None:
    # an audit over nothing ends empty: waiting only for succeeded or failed never returned
    factory = make_sessionmaker(clean_database)
    with transaction(factory) as session:
        project, _ = projects.create_project(session, name="nothing")
        audit_id = jobs.enqueue(session, project_id=project.id, request={}).id
    statuses: list[str] = []
    waiting = threading.Thread(
        target=lambda: statuses.append(run_until_done(factory, audit_id)), daemon=True
    )
    waiting.start()
    waiting.join(timeout=60)
    assert statuses == [jobs.EMPTY]
    assert set(jobs.STATUSES) - {jobs.QUEUED, jobs.RUNNING} == jobs.FINISHED
