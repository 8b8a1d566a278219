"""Vendor-compatible ingestion: the official Segment, RudderStack, PostHog, Amplitude and
Mixpanel libraries work against these routes by changing only their host.

Every route takes the same steps (`_ingest`): read the body (bounded, gzip undone), let the
vendor's adapter translate it, authenticate every key it carries (one project, `ingest`
scope), apply the project's rate limit, store through the shared vendor ingestion, and
answer in the vendor's shape. Every refusal is answered in the vendor's shape too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from service.api.admission import ingestion_turn
from service.api.deps import SessionDep, SettingsDep, authenticate, presented_key
from service.api.error_responses import vendor_refusals
from service.errors import AppError, PayloadTooLarge, Unauthorized
from service.ingestion.events import Rejection
from service.ingestion.ingest import IngestResult
from service.ingestion.payloads import decode, read_body
from service.ingestion.ratelimit import limiter
from service.metrics import count_events
from service.projects.keys import Scope
from service.settings import Settings
from service.vendors.adapters import amplitude, mixpanel, posthog, segment
from service.vendors.adapters.common import (
    Parsed,
    Translated,
    bounded,
    form_fields,
    is_form,
    rejections,
)
from service.vendors.ingest import ingest_vendor

router = APIRouter(
    tags=["vendor ingestion"],
    dependencies=[Depends(ingestion_turn, scope="function")],
    responses=vendor_refusals(400, 401, 403, 413, 422, 429),
)


async def vendor_body(request: Request, settings: SettingsDep) -> bytes | AppError:
    """The raw body, or the refusal to read it (answered later in the vendor's shape)."""
    try:
        return await read_body(request, max_bytes=settings.max_body_bytes)
    except AppError as exc:
        return exc


VendorBody = Annotated[bytes | AppError, Depends(vendor_body)]

_JSON_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def _ingest(
    request: Request,
    body: bytes | AppError,
    session: Session,
    settings: Settings,
    *,
    parse: Callable[[bytes, datetime], Parsed],
    accepted: Callable[[IngestResult, Parsed], Response],
    refused: Callable[[AppError, Parsed | None], Response],
    invalid: Callable[[list[Translated]], Response | None] | None = None,
    header_key: str | None = None,
) -> Response:
    """The one path of every vendor route. `invalid`, when given, may refuse a request with
    unusable events whole (before anything is stored), as that vendor does; when it answers
    None, the usable events are stored and the others rejected alone. `header_key`, the key
    of a vendor that sends it in a header, is checked before the body is read."""
    now = datetime.now(UTC)
    parsed: Parsed | None = None
    try:
        if header_key is not None:
            authenticate(session, header_key, Scope.INGEST)
        if isinstance(body, AppError):
            raise body
        decoded = decode(
            body,
            content_encoding=request.headers.get("content-encoding"),
            max_bytes=settings.max_decompressed_bytes,
        )
        parsed = parse(decoded, now)
        if len(parsed.items) > settings.max_batch_events:
            raise PayloadTooLarge(
                f"batch of {len(parsed.items)} events exceeds the limit of "
                f"{settings.max_batch_events}"
            )
        project_id = _project(session, parsed.keys)
        limiter(request, settings).take(project_id, len(parsed.items))
        items = bounded(parsed.items, now=now, future_tolerance_s=settings.future_tolerance_s)
        if invalid is not None and rejections(items):
            refusal = invalid(items)
            if refusal is not None:
                return refusal
        result = ingest_vendor(
            session,
            project_id=project_id,
            items=items,
            now=now,
            future_tolerance_s=settings.future_tolerance_s,
            max_abs_value=settings.max_abs_value,
            max_cost=settings.max_cost,
        )
        source = next((i.source for i in items if not isinstance(i, Rejection)), "vendor")
        count_events(
            source, result.count("accepted"), result.count("duplicate"), result.count("rejected")
        )
        return accepted(result, parsed)
    except AppError as exc:
        return refused(exc, parsed)


def _project(session: Session, keys: tuple[str, ...]) -> int:
    """The one project all of the request's keys belong to (each with the ingest scope)."""
    if not keys:
        raise Unauthorized("no key: send the project key as the vendor's library does")
    projects = {authenticate(session, key, Scope.INGEST).project_id for key in keys}
    if len(projects) > 1:
        raise Unauthorized("the request carries keys of different projects")
    return projects.pop()


# --- Segment and RudderStack ---------------------------------------------------------------


def _segment(message_type: str | None) -> Callable[..., Response]:
    def route(
        request: Request, body: VendorBody, session: SessionDep, settings: SettingsDep
    ) -> Response:
        return _ingest(
            request,
            body,
            session,
            settings,
            parse=lambda data, now: segment.parse(
                data,
                message_type=message_type,
                header_key=presented_key(request),
                received=now,
            ),
            accepted=lambda result, _parsed: segment.accepted(result),
            refused=lambda exc, _parsed: segment.refused(exc),
            header_key=presented_key(request),
        )

    return route


for _path, _type, _summary in [
    ("/v1/batch", None, "Segment/RudderStack batch of messages"),
    *((f"/v1/{t}", t, f"Segment/RudderStack {t} message") for t in segment.MESSAGE_TYPES),
]:
    router.add_api_route(
        _path,
        _segment(_type),
        methods=["POST"],
        summary=_summary,
        description="Write key as HTTP Basic user or `writeKey` in the body; gzip accepted.",
        response_class=Response,
        openapi_extra=_JSON_BODY,
    )


# --- PostHog -------------------------------------------------------------------------------


def posthog_capture(
    request: Request, body: VendorBody, session: SessionDep, settings: SettingsDep
) -> Response:
    """PostHog capture: a batch, an array or a single event; `api_key` or `token` inside."""
    return _ingest(
        request,
        body,
        session,
        settings,
        parse=lambda data, now: posthog.parse(
            data, content_type=request.headers.get("content-type"), received=now
        ),
        accepted=lambda result, _parsed: posthog.accepted(result),
        refused=lambda exc, _parsed: posthog.refused(exc),
        invalid=posthog.invalid,
    )


for _path in ("/batch", "/capture", "/e", "/i/v0/e"):
    for _slash in ("", "/"):
        router.add_api_route(
            _path + _slash,
            posthog_capture,
            methods=["POST"],
            summary=f"PostHog capture ({_path}/)",
            response_class=Response,
            openapi_extra=_JSON_BODY,
            include_in_schema=_slash == "/",
        )


# --- Amplitude -----------------------------------------------------------------------------


@router.post("/2/httpapi", response_class=Response, openapi_extra=_JSON_BODY)
def amplitude_httpapi(
    request: Request, body: VendorBody, session: SessionDep, settings: SettingsDep
) -> Response:
    """Amplitude HTTP V2 API: `{"api_key": …, "events": […]}`."""
    size = len(body) if isinstance(body, bytes) else 0
    return _ingest(
        request,
        body,
        session,
        settings,
        parse=lambda data, now: amplitude.parse(data, received=now),
        accepted=lambda result, _parsed: amplitude.accepted(result, payload_size=size),
        refused=lambda exc, parsed: amplitude.refused(
            exc, events=len(parsed.items) if parsed else 0
        ),
        invalid=amplitude.invalid,
    )


# --- Mixpanel ------------------------------------------------------------------------------


def mixpanel_track(
    request: Request, body: VendorBody, session: SessionDep, settings: SettingsDep
) -> Response:
    """Mixpanel `/track`: form `data=` as the libraries send it; `token` in the properties."""
    query = dict(request.query_params)
    wants = {"verbose": mixpanel.verbose(query, _form(request, body))}

    def parse(data: bytes, now: datetime) -> Parsed:
        parsed, wants["verbose"] = mixpanel.parse_track(
            data, content_type=request.headers.get("content-type"), query=query, received=now
        )
        return parsed

    return _ingest(
        request,
        body,
        session,
        settings,
        parse=parse,
        accepted=lambda result, _parsed: mixpanel.track_accepted(result, verbose=wants["verbose"]),
        refused=lambda exc, _parsed: mixpanel.track_refused(exc, verbose=wants["verbose"]),
        invalid=lambda items: mixpanel.track_invalid(items, verbose=wants["verbose"]),
    )


def _form(request: Request, body: bytes | AppError) -> dict[str, str] | None:
    # Only to know early how to answer a refusal; the body is parsed properly later.
    if not isinstance(body, bytes) or not is_form(request.headers.get("content-type")):
        return None
    try:
        return form_fields(body)
    except AppError:
        return None


for _path in ("/track", "/track/"):
    for _method in ("POST", "GET"):
        router.add_api_route(
            _path,
            mixpanel_track,
            methods=[_method],
            summary="Mixpanel track",
            operation_id=f"mixpanel_track_{_method.lower()}",
            response_class=Response,
            include_in_schema=_path == "/track",
        )


@router.post("/import", response_class=Response)
def mixpanel_import(
    request: Request, body: VendorBody, session: SessionDep, settings: SettingsDep
) -> Response:
    """Mixpanel `/import`: JSON array or NDJSON, Basic auth with the project key as user."""
    return _ingest(
        request,
        body,
        session,
        settings,
        parse=lambda data, now: mixpanel.parse_import(
            data,
            content_type=request.headers.get("content-type"),
            header_key=presented_key(request),
            received=now,
        ),
        accepted=lambda result, parsed: mixpanel.import_answer(result, parsed.ids),
        refused=lambda exc, _parsed: mixpanel.import_refused(exc),
        header_key=presented_key(request),
    )
