"""Webhook endpoints: CRUD and secret rotation. The secret is shown by create and rotate only."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from livehook.api.deps import ServicesDep, require
from livehook.api.envelope import ERROR_RESPONSES, Envelope, Page
from livehook.api.idempotent import IdempotencyKey, answer, rendering
from livehook.api.pagination import DEFAULT_LIMIT, Cursor, Limit, page_of
from livehook.api.schemas.webhooks import (
    RotateSecret,
    WebhookCreate,
    WebhookPublic,
    WebhookUpdate,
    WebhookWithSecret,
)
from livehook.domain.accounts import Principal
from livehook.domain.scopes import WEBHOOKS_READ, WEBHOOKS_WRITE
from livehook.services.webhooks import WebhookDraft

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses=ERROR_RESPONSES)
Reader = Annotated[Principal, Depends(require(WEBHOOKS_READ))]
Writer = Annotated[Principal, Depends(require(WEBHOOKS_WRITE))]


@router.post(
    "",
    response_model=Envelope[WebhookWithSecret],
    status_code=201,
    summary="Register an endpoint (its secret is shown once)",
    responses={409: ERROR_RESPONSES[404] | {"description": "Already registered"}},
)
async def create_webhook(
    body: WebhookCreate,
    request: Request,
    principal: Writer,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    draft = WebhookDraft(**body.draft_fields())
    return await answer(
        request,
        idempotency_key,
        body,
        lambda idem: services.webhooks.create(principal, draft, idempotency=idem),
        rendering(
            201,
            WebhookWithSecret.of_shown,
            "webhook created; store the secret now: it is not shown again",
        ),
        sealed_with=services.box,
    )


@router.get(
    "", response_model=Envelope[Page[WebhookPublic]], summary="List the account's endpoints"
)
async def list_webhooks(
    principal: Reader,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    status: Annotated[Literal["active", "disabled"] | None, Query()] = None,
) -> Envelope[Page[WebhookPublic]]:
    rows = await services.webhooks.list_page(
        principal, after=cursor, limit=limit + 1, status=status
    )
    return Envelope(data=page_of(rows, limit, WebhookPublic.of))


@router.get("/{webhook_id}", response_model=Envelope[WebhookPublic], summary="Get an endpoint")
async def get_webhook(
    webhook_id: str, principal: Reader, services: ServicesDep
) -> Envelope[WebhookPublic]:
    return Envelope(data=WebhookPublic.of(await services.webhooks.get(principal, webhook_id)))


@router.patch("/{webhook_id}", response_model=Envelope[WebhookPublic], summary="Change an endpoint")
async def update_webhook(
    webhook_id: str,
    body: WebhookUpdate,
    request: Request,
    principal: Writer,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    changes = body.model_dump(exclude_unset=True)
    return await answer(
        request,
        idempotency_key,
        body,
        lambda idem: services.webhooks.update(principal, webhook_id, changes, idempotency=idem),
        rendering(200, WebhookPublic.of, "webhook updated"),
    )


@router.delete("/{webhook_id}", response_model=Envelope[None], summary="Delete an endpoint")
async def delete_webhook(
    webhook_id: str,
    request: Request,
    principal: Writer,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await answer(
        request,
        idempotency_key,
        None,
        lambda idem: services.webhooks.delete(principal, webhook_id, idempotency=idem),
        rendering(200, lambda _: None, "webhook deleted"),
    )


@router.post(
    "/{webhook_id}/rotate-secret",
    response_model=Envelope[WebhookWithSecret],
    summary="Rotate the signing secret (the old one keeps signing for an overlap)",
)
async def rotate_secret(
    webhook_id: str,
    request: Request,
    principal: Writer,
    services: ServicesDep,
    body: RotateSecret | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    overlap = body.overlap_seconds if body else None
    return await answer(
        request,
        idempotency_key,
        body,
        lambda idem: services.webhooks.rotate_secret(
            principal, webhook_id, overlap, idempotency=idem
        ),
        rendering(
            200,
            WebhookWithSecret.of_shown,
            "secret rotated; store the new secret now: it is not shown again",
        ),
        sealed_with=services.box,
    )
