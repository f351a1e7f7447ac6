"""The delivery log: list an endpoint's deliveries, read one with its attempts, redeliver,
recover an endpoint's failures, send a test event."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from livehook.api.deps import ServicesDep, require
from livehook.api.envelope import ERROR_RESPONSES, Envelope, Page
from livehook.api.idempotent import IdempotencyKey, answer, rendering
from livehook.api.log_filters import LogFilters
from livehook.api.pagination import DEFAULT_LIMIT, Cursor, Limit, page_of
from livehook.api.schemas.deliveries import (
    DeliveryDetailPublic,
    DeliveryPublic,
    RecoverRequest,
    RecoverResult,
    SendTestRequest,
)
from livehook.domain.accounts import Principal
from livehook.domain.scopes import DELIVERIES_READ, DELIVERIES_WRITE

router = APIRouter(tags=["deliveries"], responses=ERROR_RESPONSES)
Reader = Annotated[Principal, Depends(require(DELIVERIES_READ))]
Writer = Annotated[Principal, Depends(require(DELIVERIES_WRITE))]
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: ERROR_RESPONSES[404] | {"description": "Not possible in its current state"}
}


@router.get(
    "/v1/webhooks/{webhook_id}/deliveries",
    response_model=Envelope[Page[DeliveryPublic]],
    summary="List an endpoint's deliveries, newest first",
)
async def list_deliveries(
    webhook_id: str,
    principal: Reader,
    services: ServicesDep,
    filters: LogFilters,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Envelope[Page[DeliveryPublic]]:
    rows = await services.deliveries.list_for_webhook(
        principal, webhook_id, filters, before=cursor, limit=limit + 1
    )
    return Envelope(data=page_of(rows, limit, DeliveryPublic.of))


@router.get(
    "/v1/deliveries/{delivery_id}",
    response_model=Envelope[DeliveryDetailPublic],
    summary="Get a delivery: the exact body and headers sent, and every attempt",
)
async def get_delivery(
    delivery_id: str, principal: Reader, services: ServicesDep
) -> Envelope[DeliveryDetailPublic]:
    detail = await services.deliveries.get(principal, delivery_id)
    return Envelope(data=DeliveryDetailPublic.of_detail(detail))


@router.post(
    "/v1/deliveries/{delivery_id}/redeliver",
    response_model=Envelope[DeliveryPublic],
    status_code=202,
    summary="Attempt a delivery again now (same event id, same bytes)",
    responses=CONFLICT,
)
async def redeliver(
    delivery_id: str,
    request: Request,
    principal: Writer,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await answer(
        request,
        idempotency_key,
        None,
        lambda idem: services.deliveries.redeliver(principal, delivery_id, idempotency=idem),
        rendering(202, DeliveryPublic.of, "delivery queued"),
    )


@router.post(
    "/v1/webhooks/{webhook_id}/recover",
    response_model=Envelope[RecoverResult],
    status_code=202,
    summary="Queue again every failed delivery of an endpoint since a time",
    responses=CONFLICT,
)
async def recover(
    webhook_id: str,
    body: RecoverRequest,
    request: Request,
    principal: Writer,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await answer(
        request,
        idempotency_key,
        body,
        lambda idem: services.deliveries.recover(
            principal, webhook_id, body.since, idempotency=idem
        ),
        rendering(
            202, lambda count: RecoverResult(count=count), lambda n: f"{n} deliveries queued"
        ),
    )


@router.post(
    "/v1/webhooks/{webhook_id}/test",
    response_model=Envelope[DeliveryPublic],
    status_code=202,
    summary="Send a signed test event to this endpoint (marked as a test)",
    responses=CONFLICT,
)
async def send_test_event(
    webhook_id: str,
    request: Request,
    principal: Writer,
    services: ServicesDep,
    body: SendTestRequest | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    event_type = body.event_type if body else SendTestRequest().event_type
    return await answer(
        request,
        idempotency_key,
        body,
        lambda idem: services.deliveries.send_test(
            principal, webhook_id, event_type, idempotency=idem
        ),
        rendering(202, DeliveryPublic.of, "test event queued"),
    )
