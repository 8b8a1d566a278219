"""The decision table."""

from __future__ import annotations

from fastapi import APIRouter

from models.rules import DEFAULT_TABLE
from service.api.responses import OrjsonResponse
from service.api.schemas import DecisionTableRead

router = APIRouter(prefix="/v1", tags=["rules"])


@router.get("/rules", response_model=DecisionTableRead)
def rules() -> OrjsonResponse:
    """The decision table every audit applies (unless overridden), with its version digest."""
    return OrjsonResponse(DEFAULT_TABLE.as_dict())
