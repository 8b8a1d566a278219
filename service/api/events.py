"""Native ingestion: `POST /v1/events`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from service.api.admission import ingestion_turn
from service.api.deps import KEYED, Ingestor, SessionDep, SettingsDep
from service.api.error_responses import refusals
from service.api.responses import OrjsonResponse
from service.api.schemas import IngestRead
from service.errors import PayloadTooLarge
from service.ingestion.events import NativeEvent
from service.ingestion.ingest import ingest
from service.ingestion.payloads import decode, parse_batch, read_body
from service.ingestion.ratelimit import limiter
from service.metrics import count_events

router = APIRouter(
    prefix="/v1",
    tags=["ingestion"],
    dependencies=[Depends(ingestion_turn, scope="function"), *KEYED],
    responses=refusals(400, 401, 403, 413, 429),
)


async def raw_body(request: Request, settings: SettingsDep) -> bytes:
    return await read_body(request, max_bytes=settings.max_body_bytes)


RawBody = Annotated[bytes, Depends(raw_body)]

_BATCH_SCHEMA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": NativeEvent.model_json_schema()}
            },
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


@router.post("/events", response_model=IngestRead, openapi_extra=_BATCH_SCHEMA)
def post_events(
    request: Request,
    principal: Ingestor,  # before the body: nothing is read for a caller without a key
    body: RawBody,
    session: SessionDep,
    settings: SettingsDep,
) -> OrjsonResponse:
    """Ingest a batch of native events (JSON array or NDJSON, optionally gzip-encoded)."""
    decoded = decode(
        body,
        content_encoding=request.headers.get("content-encoding"),
        max_bytes=settings.max_decompressed_bytes,
    )
    items = parse_batch(decoded)
    if len(items) > settings.max_batch_events:
        raise PayloadTooLarge(
            f"batch of {len(items)} events exceeds the limit of {settings.max_batch_events}"
        )
    limiter(request, settings).take(principal.project_id, len(items))
    result = ingest(
        session,
        project_id=principal.project_id,
        items=items,
        now=datetime.now(UTC),
        future_tolerance_s=settings.future_tolerance_s,
        max_abs_value=settings.max_abs_value,
        max_cost=settings.max_cost,
    )
    answer = result.as_dict()
    count_events("native", answer["accepted"], answer["duplicate"], answer["rejected"])
    return OrjsonResponse(answer)
