"""Events: the immutable record of what happened to sessions (the polling feed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from livehook.api.deps import ServicesDep, require
from livehook.api.envelope import ERROR_RESPONSES, Envelope, Page
from livehook.api.pagination import DEFAULT_LIMIT, Cursor, Limit, page_of
from livehook.api.schemas.common import UtcTime
from livehook.api.schemas.sessions import EventPublic
from livehook.domain.accounts import Principal
from livehook.domain.scopes import SESSIONS_READ
from livehook.domain.sessions import EventQuery

router = APIRouter(prefix="/v1/events", tags=["events"], responses=ERROR_RESPONSES)
Reader = Annotated[Principal, Depends(require(SESSIONS_READ))]


@router.get(
    "",
    response_model=Envelope[Page[EventPublic]],
    summary="List events, oldest first (keep the last id to poll for newer ones)",
)
async def list_events(
    principal: Reader,
    services: ServicesDep,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
    session_id: Annotated[str | None, Query(max_length=36)] = None,
    type: Annotated[str | None, Query(max_length=40, description="An event type.")] = None,
    created_after: Annotated[
        UtcTime | None, Query(description="Inclusive; UTC if no zone.")
    ] = None,
    created_before: Annotated[UtcTime | None, Query(description="Exclusive.")] = None,
) -> Envelope[Page[EventPublic]]:
    query = EventQuery(
        session_id=session_id,
        type=type,
        created_after=created_after,
        created_before=created_before,
    )
    rows = await services.sessions.list_events(principal, query, after=cursor, limit=limit + 1)
    return Envelope(data=page_of(rows, limit, EventPublic.of))


@router.get("/{event_id}", response_model=Envelope[EventPublic], summary="Get an event")
async def get_event(
    event_id: str, principal: Reader, services: ServicesDep
) -> Envelope[EventPublic]:
    return Envelope(data=EventPublic.of(await services.sessions.get_event(principal, event_id)))
