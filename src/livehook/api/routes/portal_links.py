"""Sign-in links to the developer portal, minted for the caller's own account."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from livehook.api.deps import FullAccessPrincipal, ServicesDep
from livehook.api.envelope import ERROR_RESPONSES, Envelope
from livehook.api.idempotent import IdempotencyKey, answer, rendering
from livehook.api.schemas.common import RequestModel
from livehook.domain.portal import CAPABILITIES, LINK_PATH, MAX_LINK_TTL
from livehook.services.portal import MintedLink

router = APIRouter(prefix="/v1/portal-links", tags=["portal"], responses=ERROR_RESPONSES)


class PortalLinkCreate(RequestModel):
    capabilities: list[str] = Field(
        default_factory=lambda: ["view"],
        max_length=len(CAPABILITIES),
        description="`view` (always granted), `manage` (change keys and webhooks, send test "
        "traffic), `secrets` (rotate signing secrets).",
    )
    expires_in: int | None = Field(
        strict=True,
        default=None,
        ge=60,
        le=int(MAX_LINK_TTL.total_seconds()),
        description="Seconds the link can be used for; default 3600, at most 7 days.",
    )


class PortalLinkPublic(BaseModel):
    url: str = Field(description="Open it once in a browser: it signs in and stops working.")
    capabilities: list[str]
    expires_at: datetime


def link_url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}{LINK_PATH}?token={token}"


@router.post(
    "",
    response_model=Envelope[PortalLinkPublic],
    status_code=201,
    summary="Mint a single-use sign-in link to the portal (full-access key)",
)
async def create_portal_link(
    body: PortalLinkCreate,
    request: Request,
    principal: FullAccessPrincipal,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    base = str(request.base_url)

    def shown(minted: MintedLink) -> PortalLinkPublic:
        return PortalLinkPublic(
            url=link_url(base, minted.token),
            capabilities=list(minted.capabilities),
            expires_at=minted.expires_at,
        )

    return await answer(
        request,
        idempotency_key,
        body,
        lambda idem: services.portal.mint_link(
            principal, body.capabilities, body.expires_in, idempotency=idem
        ),
        rendering(201, shown, "sign-in link created: it works once, until it expires"),
        sealed_with=services.box,  # the link signs in: stored encrypted, like a secret
    )
