"""A webhook: its detail and counts, edit, rotate the secret, enable/disable, delete, send a
test event, recover failures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from livehook.domain import catalog
from livehook.domain.webhooks import DEFAULT_ROTATION_OVERLAP
from livehook.portal.forms import FormError, WebhookForm, catalog_context, field_errors
from livehook.portal.web import (
    Manager,
    PortalRoute,
    SecretsHolder,
    ServicesDep,
    Viewer,
    principal_of,
    render,
    see_other,
)
from livehook.services.errors import InvalidRequest, ServiceError

router = APIRouter(prefix="/portal/webhooks", route_class=PortalRoute, include_in_schema=False)

# Overlaps offered when rotating a secret, in seconds.
OVERLAPS = (
    (0, "none: the old secret stops now"),
    (3600, "1 hour"),
    (86400, "24 hours"),
    (7 * 86400, "7 days"),
)
NOTICES = {
    "test": "Test event queued: it appears in the delivery log below.",
    "updated": "Webhook saved.",
    "enabled": "Webhook enabled.",
    "disabled": "Webhook disabled.",
}


@router.get("/{webhook_id}")
async def webhook_detail(
    request: Request,
    webhook_id: str,
    identity: Viewer,
    services: ServicesDep,
    notice: str | None = None,
) -> Response:
    principal = principal_of(identity)
    webhook = await services.webhooks.get(principal, webhook_id)
    key = await services.keys.get(webhook.api_key_id, account_id=identity.account_id)
    activity = await services.deliveries.activity(principal, webhook_id)
    context = {
        "webhook": webhook,
        "key": key,
        "charts": (
            ("Last 24 hours, per hour", "%H:00", activity.hours),
            ("Last 7 days, per day", "%a %d", activity.days),
        ),
        "day": activity.last_day,
        "week": activity.last_week,
        "notice": NOTICES.get(notice or ""),
        "event_types": list(catalog.EVENT_TYPES),
        "overlaps": OVERLAPS,
        "default_overlap": int(DEFAULT_ROTATION_OVERLAP.total_seconds()),
    }
    return render(request, "webhook.html", context)


@router.get("/{webhook_id}/edit")
async def edit_form(
    request: Request, webhook_id: str, identity: Manager, services: ServicesDep
) -> Response:
    webhook = await services.webhooks.get(principal_of(identity), webhook_id)
    context = {
        "webhook": webhook,
        "form": WebhookForm.of(webhook),
        "errors": {},
        **catalog_context(),
    }
    return render(request, "webhook_form.html", context)


@router.post("/{webhook_id}/edit")
async def edit(
    request: Request, webhook_id: str, identity: Manager, services: ServicesDep
) -> Response:
    principal = principal_of(identity)
    webhook = await services.webhooks.get(principal, webhook_id)
    form = WebhookForm.parse(await request.form())
    try:
        await services.webhooks.update(principal, webhook_id, form.values())
    except (ServiceError, FormError) as exc:
        status = exc.status if isinstance(exc, ServiceError) else 422
        context = {
            "webhook": webhook,
            "form": form,
            "errors": field_errors(exc),
            **catalog_context(),
        }
        return render(request, "webhook_form.html", context, status)
    return see_other(f"/portal/webhooks/{webhook_id}?notice=updated")


@router.post("/{webhook_id}/rotate")
async def rotate(
    request: Request,
    webhook_id: str,
    identity: SecretsHolder,
    services: ServicesDep,
    overlap_seconds: Annotated[int, Form(ge=0, le=7 * 86400)] = 86400,
) -> Response:
    rotated = await services.webhooks.rotate_secret(
        principal_of(identity), webhook_id, overlap_seconds
    )
    context = {
        "webhook": rotated.webhook,
        "secret": rotated.secret,
        "rotated": rotated.previous_secret_expires_at or "now",
    }
    return render(request, "secret_once.html", context)


@router.post("/{webhook_id}/status")
async def set_status(
    webhook_id: str,
    identity: Manager,
    services: ServicesDep,
    status: Annotated[str, Form(max_length=16)],
) -> Response:
    if status not in ("active", "disabled"):
        raise InvalidRequest("status must be active or disabled")
    await services.webhooks.update(principal_of(identity), webhook_id, {"status": status})
    notice = "enabled" if status == "active" else "disabled"
    return see_other(f"/portal/webhooks/{webhook_id}?notice={notice}")


@router.get("/{webhook_id}/delete")
async def confirm_delete(
    request: Request, webhook_id: str, identity: Manager, services: ServicesDep
) -> Response:
    webhook = await services.webhooks.get(principal_of(identity), webhook_id)
    return render(request, "webhook_delete.html", {"webhook": webhook})


@router.post("/{webhook_id}/delete")
async def delete(webhook_id: str, identity: Manager, services: ServicesDep) -> Response:
    principal = principal_of(identity)
    webhook = await services.webhooks.get(principal, webhook_id)
    await services.webhooks.delete(principal, webhook_id)
    return see_other(f"/portal/keys/{webhook.api_key_id}")


@router.post("/{webhook_id}/test")
async def send_test(
    webhook_id: str,
    identity: Manager,
    services: ServicesDep,
    event_type: Annotated[str, Form(max_length=64)] = catalog.VERIFICATION_COMPLETED,
) -> Response:
    await services.deliveries.send_test(principal_of(identity), webhook_id, event_type)
    return see_other(f"/portal/webhooks/{webhook_id}/deliveries?notice=test")


@router.post("/{webhook_id}/recover")
async def recover(
    request: Request,
    webhook_id: str,
    identity: Manager,
    services: ServicesDep,
    since: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    try:
        start = datetime.fromisoformat(since).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidRequest("pick the date and time to recover from", field="since") from None
    count = await services.deliveries.recover(principal_of(identity), webhook_id, start)
    return render(
        request,
        "notice.html",
        {
            "title": "Recovery queued",
            "message": f"{count} failed deliveries queued again.",
            "back": f"/portal/webhooks/{webhook_id}/deliveries",
        },
    )
