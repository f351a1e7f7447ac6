"""Who am I: the caller's account, key and scopes."""

from __future__ import annotations

from fastapi import APIRouter

from livehook.api.deps import CurrentPrincipal
from livehook.api.envelope import ERROR_RESPONSES, Envelope
from livehook.api.schemas.keys import Me

router = APIRouter(prefix="/v1", tags=["account"], responses=ERROR_RESPONSES)


@router.get("/me", response_model=Envelope[Me], summary="The caller's account, key and scopes")
async def me(principal: CurrentPrincipal) -> Envelope[Me]:
    return Envelope(
        data=Me(
            account_id=principal.account_id,
            account_name=principal.account_name,
            key_id=principal.key_id,
            scopes=list(principal.scopes),
            full_access=principal.full_access,
        )
    )
