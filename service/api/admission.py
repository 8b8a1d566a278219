"""Ingestion takes turns, so reads stay quick under load.

An ingestion batch costs a process tens of milliseconds of CPU (decompressing, parsing and
validating up to thousands of events, then storing them); a read costs a few. Worked on all at
once, on a machine with few cores, every request is slowed by every other, and a read waits
behind a crowd of batches. So each process works on at most `ingest_concurrency` ingestion
requests at a time (`RETENTION_AUDIT_INGEST_CONCURRENCY`); the others wait, before their key is
looked up or their body read, without holding a thread, a database connection or their body in
memory. Ingestion keeps the throughput the CPU allows (batches are queued, not refused); reads
are served between them. Analytics SDKs send batches in the background, where a longer answer
costs nothing; a reviewer's page does not wait on them.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator

from fastapi import Request


class IngestionTurns:
    """At most `limit` ingestion requests of this process worked on at once (0: no limit).

    One semaphore per event loop: an app serves one loop under uvicorn, but a test client may
    start a loop per request, and an asyncio semaphore belongs to the loop it first waits on."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._semaphores: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, asyncio.Semaphore
        ] = weakref.WeakKeyDictionary()

    def semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        semaphore = self._semaphores.get(loop)
        if semaphore is None:
            semaphore = self._semaphores[loop] = asyncio.Semaphore(self.limit)
        return semaphore


async def ingestion_turn(request: Request) -> AsyncGenerator[None, None]:
    """A dependency of every ingestion route, declared first: the route runs in its turn."""
    turns: IngestionTurns = request.app.state.ingestion_turns
    if turns.limit == 0:
        yield
        return
    async with turns.semaphore():
        yield
