"""Ingestion takes turns: at most `ingest_concurrency` ingestion requests of a process are
worked on at once, the others wait and are then served in full; reads never wait for a turn."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from service.api.admission import IngestionTurns, ingestion_turn
from tests.service.conftest import ProjectKey
from tests.service.factories import gzip_ndjson, native_batch
from tests.service.servers import serve


def _peak_inside(limit: int, requests: int) -> int:
    """The most requests inside their turn at once, when `requests` arrive together."""
    request: Any = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace()))
    request.app.state.ingestion_turns = IngestionTurns(limit)
    inside, peak = 0, 0

    async def one() -> None:
        nonlocal inside, peak
        turn = ingestion_turn(request)
        await anext(turn)
        inside += 1
        peak = max(peak, inside)
        await asyncio.sleep(0.005)
        inside -= 1
        await turn.aclose()

    async def all_at_once() -> None:
        await asyncio.gather(*(one() for _ in range(requests)))

    asyncio.run(all_at_once())
    return peak


@pytest.mark.parametrize(("limit", "peak"), [(1, 1), (2, 2), (3, 3), (0, 12)])
def test_at_most_the_limit_are_worked_on_at_once(limit: int, peak: int) -> None:
    assert _peak_inside(limit, 12) == peak


def test_the_turns_are_per_event_loop() -> None:
    # a second loop (a test client starts one per request) gets its own semaphore
    assert _peak_inside(1, 4) == 1
    assert _peak_inside(1, 4) == 1


def test_waiting_batches_are_all_stored_and_reads_are_served_meanwhile(
    clean_database: Engine, database_url: str, project: ProjectKey
) -> None:
    batches = [gzip_ndjson(native_batch(300, start=300 * i)) for i in range(8)]
    ingest = {
        **project.auth,
        "Content-Type": "application/x-ndjson",
        "Content-Encoding": "gzip",
    }
    with serve(database_url, RETENTION_AUDIT_INGEST_CONCURRENCY="1") as base:

        def send(body: bytes) -> dict[str, Any]:
            answer = httpx.post(f"{base}/v1/events", content=body, headers=ingest, timeout=120)
            assert answer.status_code == 200, answer.text
            result: dict[str, Any] = answer.json()
            return result

        def read(_: int) -> int:
            answer = httpx.get(f"{base}/v1/projects/{project.id}/stats", headers=project.auth)
            return answer.status_code

        with ThreadPoolExecutor(12) as pool:
            sent = pool.map(send, batches)
            reads = pool.map(read, range(8))
            results, read_answers = list(sent), list(reads)
        stats = httpx.get(f"{base}/v1/projects/{project.id}/stats", headers=project.auth).json()
    assert [r["accepted"] for r in results] == [300] * 8
    assert read_answers == [200] * 8
    assert stats["events"] == 2_400
