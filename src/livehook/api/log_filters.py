"""The delivery log's filters, read from the query string once for every log route."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query

from livehook.api.schemas.common import AwareUtcTime
from livehook.storage.repositories.delivery_log import DeliveryFilters


async def delivery_filters(  # async: a plain def would run in FastAPI's thread pool
    event: Annotated[str | None, Query(max_length=64, description="Event type.")] = None,
    model: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[Literal["pending", "succeeded", "failed"] | None, Query()] = None,
    created_after: Annotated[AwareUtcTime | None, Query(description="Inclusive.")] = None,
    created_before: Annotated[AwareUtcTime | None, Query(description="Exclusive.")] = None,
) -> DeliveryFilters:
    return DeliveryFilters(
        event_type=event,
        model=model,
        status=status,
        created_after=created_after,
        created_before=created_before,
    )


LogFilters = Annotated[DeliveryFilters, Depends(delivery_filters)]
