"""Verification sessions: create, report stages, verdicts and failures, poll.

Every POST accepts an `Idempotency-Key` header: a retry with the same key and body gets the first
answer again (status and body, plus `Idempotent-Replayed: true`) without a second event; the same
key with another body is refused with 409 `idempotency_conflict`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel

from livehook.api.deps import ServicesDep, require
from livehook.api.envelope import ERROR_RESPONSES, Envelope, ErrorEnvelope, Page
from livehook.api.idempotent import IdempotencyKey, answer, rendering
from livehook.api.pagination import DEFAULT_LIMIT, Cursor, Limit, page_of
from livehook.api.schemas.common import UtcTime
from livehook.api.schemas.sessions import (
    FailureReport,
    ResultReport,
    SessionCreate,
    SessionDetail,
    SessionPublic,
    StageReport,
)
from livehook.domain.accounts import Principal
from livehook.domain.scopes import SESSIONS_READ, SESSIONS_WRITE
from livehook.domain.sessions import SessionQuery, Verdict
from livehook.services.idempotency import Idempotency
from livehook.services.sessions import SessionDraft, SessionView

router = APIRouter(prefix="/v1/sessions", tags=["sessions"], responses=ERROR_RESPONSES)
Reader = Annotated[Principal, Depends(require(SESSIONS_READ))]
Writer = Annotated[Principal, Depends(require(SESSIONS_WRITE))]
WRITE_RESPONSES: dict[int | str, dict[str, object]] = {
    409: {
        "model": ErrorEnvelope,
        "description": "The report cannot follow the session's current stage (`conflict`), or "
        "the Idempotency-Key was used with another request (`idempotency_conflict`)",
    }
}
Write = Callable[[Idempotency[SessionView] | None], Awaitable[SessionView]]


async def _answer(
    request: Request,
    key: str | None,
    body: BaseModel,
    write: Write,
    *,
    status: int = 200,
    message: str,
) -> Response:
    return await answer(
        request, key, body, write, rendering(status, SessionDetail.of_view, message)
    )


@router.post(
    "",
    response_model=Envelope[SessionDetail],
    status_code=201,
    summary="Create a session (emits verification.initialized)",
    responses=WRITE_RESPONSES,
)
async def create_session(
    body: SessionCreate,
    request: Request,
    principal: Writer,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    draft = SessionDraft(**body.draft_fields())
    return await _answer(
        request,
        idempotency_key,
        body,
        lambda idem: services.sessions.create(principal, draft, idempotency=idem),
        status=201,
        message="session created",
    )


@router.get("", response_model=Envelope[Page[SessionPublic]], summary="List sessions, oldest first")
async def list_sessions(
    principal: Reader,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    status: Annotated[
        Literal["pending", "in_progress", "cancelled", "completed", "failed"] | None, Query()
    ] = None,
    model: Annotated[str | None, Query(max_length=32)] = None,
    external_id: Annotated[str | None, Query(max_length=255)] = None,
    external_tracker: Annotated[str | None, Query(max_length=255)] = None,
    created_after: Annotated[
        UtcTime | None, Query(description="Inclusive; UTC if no zone.")
    ] = None,
    created_before: Annotated[UtcTime | None, Query(description="Exclusive.")] = None,
) -> Envelope[Page[SessionPublic]]:
    query = SessionQuery(
        status=status,
        model=model,
        external_id=external_id,
        external_tracker=external_tracker,
        created_after=created_after,
        created_before=created_before,
    )
    rows = await services.sessions.list_page(principal, query, after=cursor, limit=limit + 1)
    return Envelope(data=page_of(rows, limit, SessionPublic.of))


@router.get(
    "/{session_id}",
    response_model=Envelope[SessionDetail],
    summary="Get a session: status, stages reached with times, result or error",
)
async def get_session(
    session_id: str, principal: Reader, services: ServicesDep
) -> Envelope[SessionDetail]:
    view = await services.sessions.get(principal, session_id)
    return Envelope(data=SessionDetail.of_view(view))


@router.post(
    "/{session_id}/stages",
    response_model=Envelope[SessionDetail],
    summary="Report a stage",
    responses=WRITE_RESPONSES,
)
async def report_stage(
    session_id: str,
    body: StageReport,
    request: Request,
    principal: Writer,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await _answer(
        request,
        idempotency_key,
        body,
        lambda idem: services.sessions.report_stage(
            principal, session_id, body.stage, trust_score=body.trust_score, idempotency=idem
        ),
        message=f"{body.stage} recorded",
    )


@router.post(
    "/{session_id}/result",
    response_model=Envelope[SessionDetail],
    summary="Report the verdict (emits liveness.passed or liveness.failed, then "
    "verification.completed)",
    responses=WRITE_RESPONSES,
)
async def report_result(
    session_id: str,
    body: ResultReport,
    request: Request,
    principal: Writer,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    verdict = Verdict(**body.model_dump())
    return await _answer(
        request,
        idempotency_key,
        body,
        lambda idem: services.sessions.report_result(
            principal, session_id, verdict, idempotency=idem
        ),
        message="verdict recorded",
    )


@router.post(
    "/{session_id}/failure",
    response_model=Envelope[SessionDetail],
    summary="Report a processing failure (emits verification.failed)",
    responses=WRITE_RESPONSES,
)
async def report_failure(
    session_id: str,
    body: FailureReport,
    request: Request,
    principal: Writer,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    return await _answer(
        request,
        idempotency_key,
        body,
        lambda idem: services.sessions.report_failure(
            principal, session_id, body.code, body.message, idempotency=idem
        ),
        message="failure recorded",
    )
