"""The source documents' own API shapes, as aliases onto livehook's routes (same services, same
answers), so a client written from a provider's guide works unchanged:

- VerifEye's result lookup, `GET /v1/verification/get-session-result?verificationSessionId=…`
  (with `Authorization: ApiKey …`), is `GET /v1/sessions/{id}`.
- VerifEye's `webhookConfig.eventCallbackUrl` on session create, and VerifyYou's underscore stage
  names (`liveness_started`) when a stage is reported, are accepted by the session routes'
  request shapes themselves (api/schemas/sessions.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from livehook.api.deps import ServicesDep
from livehook.api.envelope import ERROR_RESPONSES, Envelope
from livehook.api.routes.sessions import Reader, get_session
from livehook.api.schemas.sessions import SessionDetail

router = APIRouter(tags=["aliases"], responses=ERROR_RESPONSES)


@router.get(
    "/v1/verification/get-session-result",
    response_model=Envelope[SessionDetail],
    summary="VerifEye's spelling of GET /v1/sessions/{id}",
)
async def get_session_result(
    principal: Reader,
    services: ServicesDep,
    verification_session_id: Annotated[
        str, Query(alias="verificationSessionId", max_length=64, description="The session id.")
    ],
) -> Envelope[SessionDetail]:
    return await get_session(verification_session_id, principal, services)
