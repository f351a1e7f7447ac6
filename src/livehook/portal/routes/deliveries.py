"""The delivery log of a webhook (filters in the URL, cursor pages, live while pending), one
delivery with its request and attempts, redeliver."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from livehook.domain import catalog
from livehook.domain.deliveries import PENDING
from livehook.portal.web import (
    Manager,
    PortalRoute,
    ServicesDep,
    Viewer,
    principal_of,
    render,
    see_other,
)
from livehook.storage.repositories.delivery_log import DeliveryFilters

router = APIRouter(prefix="/portal", route_class=PortalRoute, include_in_schema=False)
PAGE_SIZE = 50
STATUSES = ("pending", "succeeded", "failed")
STATUS_CLASSES = {"2": "2xx", "4": "4xx", "5": "5xx"}
NOTICES = {"test": "Test event queued: it is marked “test” in the log."}

Text = Annotated[str, Query(max_length=64)]


@dataclass(frozen=True)
class LogQuery:
    """The filters as the URL holds them: a copied link reproduces the view."""

    event: str = ""
    model: str = ""
    status: str = ""
    status_class: str = ""
    start: str = ""  # YYYY-MM-DD, inclusive
    end: str = ""  # YYYY-MM-DD, inclusive (the whole day)

    def errors(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if self.event and self.event not in catalog.EVENT_TYPES:
            errors["event"] = "pick an event type from the list"
        if self.model and self.model not in catalog.MODELS:
            errors["model"] = "pick a model from the list"
        if self.status and self.status not in STATUSES:
            errors["status"] = "pick a status from the list"
        if self.status_class and self.status_class not in STATUS_CLASSES:
            errors["status_class"] = "pick a status class from the list"
        for name in ("start", "end"):
            if getattr(self, name) and _day(getattr(self, name)) is None:
                errors[name] = "use a date such as 2026-12-01"
        return errors

    def filters(self) -> DeliveryFilters:
        start, end = _day(self.start), _day(self.end)
        return DeliveryFilters(
            event_type=self.event or None,
            model=self.model or None,
            status=self.status or None,
            status_class=int(self.status_class) if self.status_class else None,
            created_after=datetime.combine(start, time(), UTC) if start else None,
            created_before=datetime.combine(end, time(), UTC) + timedelta(days=1) if end else None,
        )

    def url(self, webhook_id: str, **extra: str) -> str:
        params = {k: v for k, v in {**self.__dict__, **extra}.items() if v}
        query = urlencode(params)
        return f"/portal/webhooks/{webhook_id}/deliveries" + (f"?{query}" if query else "")


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


@router.get("/webhooks/{webhook_id}/deliveries")
async def delivery_log(
    request: Request,
    webhook_id: str,
    identity: Viewer,
    services: ServicesDep,
    event: Text = "",
    model: Text = "",
    status: Text = "",
    status_class: Text = "",
    start: Text = "",
    end: Text = "",
    cursor: Text = "",
    notice: Text = "",
) -> Response:
    principal = principal_of(identity)
    webhook = await services.webhooks.get(principal, webhook_id)
    query = LogQuery(event, model, status, status_class, start, end)
    errors = query.errors()
    rows = []
    if not errors:
        rows = await services.deliveries.list_for_webhook(
            principal, webhook_id, query.filters(), before=cursor or None, limit=PAGE_SIZE + 1
        )
    page, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    context = {
        "webhook": webhook,
        "query": query,
        "errors": errors,
        "deliveries": page,
        "next_url": query.url(webhook_id, cursor=page[-1].id) if more else None,
        "first_url": query.url(webhook_id) if cursor else None,
        "self_url": query.url(webhook_id, cursor=cursor),
        "pending": any(d.status == PENDING for d in page),
        "notice": NOTICES.get(notice),
        "statuses": STATUSES,
        "status_classes": STATUS_CLASSES,
        "event_types": list(catalog.EVENT_TYPES),
        "models": list(catalog.MODELS),
    }
    template = "deliveries_table.html" if request.headers.get("hx-request") else "deliveries.html"
    return render(request, template, context)


@router.get("/deliveries/{delivery_id}")
async def delivery_detail(
    request: Request, delivery_id: str, identity: Viewer, services: ServicesDep
) -> Response:
    detail = await services.deliveries.get(principal_of(identity), delivery_id)
    context = {"delivery": detail.delivery, "attempts": detail.attempts}
    return render(request, "delivery.html", context)


@router.post("/deliveries/{delivery_id}/redeliver")
async def redeliver(delivery_id: str, identity: Manager, services: ServicesDep) -> Response:
    await services.deliveries.redeliver(principal_of(identity), delivery_id)
    return see_other(f"/portal/deliveries/{delivery_id}")
