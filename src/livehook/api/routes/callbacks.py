"""Session callbacks: a session's delivery log, every callback of the caller's key, and the
rotation of a key's callback secret. Redelivery is `POST /v1/deliveries/{id}/redeliver`, as for
any delivery."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from livehook.api.deps import FullAccessPrincipal, ServicesDep, require
from livehook.api.envelope import ERROR_RESPONSES, Envelope, Page
from livehook.api.idempotent import IdempotencyKey, answer, rendering
from livehook.api.log_filters import LogFilters
from livehook.api.pagination import DEFAULT_LIMIT, Cursor, Limit, page_of
from livehook.api.schemas.common import fields_of
from livehook.api.schemas.deliveries import DeliveryPublic
from livehook.api.schemas.webhooks import RotateSecret
from livehook.domain.accounts import Principal
from livehook.domain.scopes import DELIVERIES_READ
from livehook.services.keys import RotatedCallbackSecret

# Tags per route: a router-level tag would be added to each route's own, listing the key
# rotation twice in the docs.
router = APIRouter(responses=ERROR_RESPONSES)
Reader = Annotated[Principal, Depends(require(DELIVERIES_READ))]


class CallbackSecretRotated(BaseModel):
    key_id: str
    callback_secret: str = Field(description="The new callback secret. Shown once: store it now.")
    previous_secret_expires_at: datetime | None = Field(
        description="When the old secret stops signing beside the new one."
    )


@router.get(
    "/v1/sessions/{session_id}/deliveries",
    response_model=Envelope[Page[DeliveryPublic]],
    tags=["deliveries"],
    summary="List a session's deliveries (its webhooks' and its callback's), newest first",
)
async def list_session_deliveries(
    session_id: str,
    principal: Reader,
    services: ServicesDep,
    filters: LogFilters,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Envelope[Page[DeliveryPublic]]:
    rows = await services.deliveries.list_for_session(
        principal, session_id, filters, before=cursor, limit=limit + 1
    )
    return Envelope(data=page_of(rows, limit, DeliveryPublic.of))


@router.get(
    "/v1/callbacks",
    response_model=Envelope[Page[DeliveryPublic]],
    tags=["deliveries"],
    summary="List every session callback of the caller's key, newest first",
)
async def list_callbacks(
    principal: Reader,
    services: ServicesDep,
    filters: LogFilters,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Envelope[Page[DeliveryPublic]]:
    rows = await services.deliveries.list_callbacks(
        principal, filters, before=cursor, limit=limit + 1
    )
    return Envelope(data=page_of(rows, limit, DeliveryPublic.of))


@router.post(
    "/v1/keys/{key_id}/rotate-callback-secret",
    response_model=Envelope[CallbackSecretRotated],
    tags=["api keys"],
    summary="Rotate a key's callback secret (shown once; the old one signs beside it a while)",
)
async def rotate_callback_secret(
    key_id: str,
    request: Request,
    principal: FullAccessPrincipal,
    services: ServicesDep,
    body: RotateSecret | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    overlap = body.overlap_seconds if body else None
    return await answer(
        request,
        idempotency_key,
        body,
        lambda idem: services.keys.rotate_callback_secret(
            key_id, account_id=principal.account_id, overlap_seconds=overlap, idempotency=idem
        ),
        rendering(
            200,
            _rotated,
            "callback secret rotated; store the new one now: it is not shown again",
        ),
        sealed_with=services.box,
    )


def _rotated(rotated: RotatedCallbackSecret) -> CallbackSecretRotated:
    return CallbackSecretRotated.model_validate(fields_of(rotated) | {"key_id": rotated.key.id})
