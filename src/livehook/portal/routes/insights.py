"""The event catalog, recent sessions (the polling view), and the funnel."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from livehook.domain import catalog
from livehook.domain.event_schemas import event_type_catalog
from livehook.domain.portal import VIEW
from livehook.domain.sessions import SessionQuery
from livehook.portal.web import PortalRoute, ServicesDep, Viewer, principal_of, render, require
from livehook.services.errors import InvalidRequest
from livehook.storage.repositories.delivery_log import DeliveryFilters

router = APIRouter(prefix="/portal", route_class=PortalRoute, include_in_schema=False)
Text = Annotated[str, Query(max_length=255)]
RECENT_SESSIONS = 50
RECENT_WINDOW = timedelta(days=7)
MAX_SESSIONS = 1000


@router.get("/events", dependencies=[Depends(require(VIEW))])
async def event_catalog(request: Request) -> Response:
    return render(request, "events.html", {"catalog": event_type_catalog()})


@router.get("/sessions")
async def recent_sessions(request: Request, identity: Viewer, services: ServicesDep) -> Response:
    # The listing runs oldest first (its cursor is the id): read the last week, newest on top.
    since = datetime.now(UTC) - RECENT_WINDOW
    rows = await services.sessions.list_page(
        principal_of(identity), SessionQuery(created_after=since), limit=MAX_SESSIONS
    )
    return render(request, "sessions.html", {"sessions": rows[::-1][:RECENT_SESSIONS]})


@router.get("/sessions/{session_id}")
async def session_detail(
    request: Request, session_id: str, identity: Viewer, services: ServicesDep
) -> Response:
    principal = principal_of(identity)
    view = await services.sessions.get(principal, session_id)
    sent = await services.deliveries.list_for_session(
        principal, view.session.id, DeliveryFilters(), limit=100
    )
    return render(request, "session.html", {"view": view, "deliveries": sent})


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest("use a date such as 2026-12-01", field=field) from None


@router.get("/funnel")
async def funnel(
    request: Request,
    identity: Viewer,
    services: ServicesDep,
    start: Text = "",
    end: Text = "",
    tracker: Text = "",
    model: Text = "",
) -> Response:
    first, last = _day(start, "start"), _day(end, "end")
    report = await services.stats.funnel(
        principal_of(identity),
        start=datetime.combine(first, time(), UTC) if first else None,
        end=datetime.combine(last, time(), UTC) + timedelta(days=1) if last else None,
        external_tracker=tracker or None,
        model=model or None,
    )
    context = {
        "report": report,
        "query": {"start": start, "end": end, "tracker": tracker, "model": model},
        "models": list(catalog.MODELS),
    }
    return render(request, "funnel.html", context)
