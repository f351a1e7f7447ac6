"""Statistics: the verification funnel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from livehook.api.deps import ServicesDep, require
from livehook.api.envelope import ERROR_RESPONSES, Envelope
from livehook.api.schemas.common import UtcTime
from livehook.api.schemas.stats import FunnelPublic
from livehook.domain.accounts import Principal
from livehook.domain.scopes import STATS_READ

router = APIRouter(prefix="/v1/stats", tags=["stats"], responses=ERROR_RESPONSES)
Reader = Annotated[Principal, Depends(require(STATS_READ))]


@router.get(
    "/funnel",
    response_model=Envelope[FunnelPublic],
    response_model_by_alias=True,
    summary="Sessions reaching each stage, conversion from initialized, and drop-offs",
)
async def funnel(
    principal: Reader,
    services: ServicesDep,
    start: Annotated[
        UtcTime | None,
        Query(alias="from", description="Sessions created from (inclusive); default 30 days ago."),
    ] = None,
    end: Annotated[
        UtcTime | None, Query(alias="to", description="Until (exclusive); default now.")
    ] = None,
    external_tracker: Annotated[str | None, Query(max_length=255)] = None,
    model: Annotated[str | None, Query(max_length=32)] = None,
) -> Envelope[FunnelPublic]:
    report = await services.stats.funnel(
        principal,
        start=start,
        end=end,
        external_tracker=external_tracker,
        model=model,
    )
    return Envelope(data=FunnelPublic.of(report))
