"""API keys of the caller's own account (full-access keys only)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from livehook.api.deps import FullAccessPrincipal, ServicesDep
from livehook.api.envelope import ERROR_RESPONSES, Envelope, Page
from livehook.api.idempotent import IdempotencyKey, answer, rendering
from livehook.api.pagination import DEFAULT_LIMIT, Cursor, Limit, page_of
from livehook.api.schemas.keys import KeyCreate, KeyCreated, KeyPublic
from livehook.services.keys import CreatedKey

router = APIRouter(prefix="/v1/keys", tags=["api keys"], responses=ERROR_RESPONSES)


@router.get("", response_model=Envelope[Page[KeyPublic]], summary="List the account's keys")
async def list_keys(
    principal: FullAccessPrincipal,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> Envelope[Page[KeyPublic]]:
    keys = await services.keys.list_page(
        account_id=principal.account_id, after=cursor, limit=limit + 1
    )
    return Envelope(data=page_of(keys, limit, KeyPublic.of))


@router.post(
    "",
    response_model=Envelope[KeyCreated],
    status_code=201,
    summary="Create a key (its secrets are shown once)",
)
async def create_key(
    body: KeyCreate,
    request: Request,
    principal: FullAccessPrincipal,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await answer(
        request,
        idempotency_key,
        body,
        lambda idem: services.keys.create(
            account_id=principal.account_id, name=body.name, scopes=body.scopes, idempotency=idem
        ),
        rendering(
            201,
            _created,
            "API key created; store the key and callback_secret now: they are not shown again",
        ),
        sealed_with=services.box,
    )


def _created(created: CreatedKey) -> KeyCreated:
    public = KeyPublic.of(created.key)
    return KeyCreated(
        **public.model_dump(), key=created.plaintext, callback_secret=created.callback_secret
    )


@router.delete("/{key_id}", response_model=Envelope[KeyPublic], summary="Revoke a key at once")
async def revoke_key(
    key_id: str,
    request: Request,
    principal: FullAccessPrincipal,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await answer(
        request,
        idempotency_key,
        None,
        lambda idem: services.keys.revoke(
            key_id, account_id=principal.account_id, idempotency=idem
        ),
        rendering(200, KeyPublic.of, "API key revoked"),
    )
