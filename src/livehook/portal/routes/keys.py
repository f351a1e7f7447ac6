"""API keys: list, create (shown once), revoke; a key's webhooks; adding a webhook; starting a
test verification through the key."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from livehook.domain import catalog
from livehook.domain.accounts import ApiKey
from livehook.domain.portal import PortalIdentity
from livehook.domain.simulation import TRIGGERABLE
from livehook.portal.forms import FormError, WebhookForm, catalog_context, field_errors
from livehook.portal.web import (
    Manager,
    PortalRoute,
    ServicesDep,
    Viewer,
    principal_of,
    render,
    see_other,
)
from livehook.services.errors import InvalidRequest, ServiceError
from livehook.services.registry import Services
from livehook.services.simulation import simulate
from livehook.services.webhooks import WebhookDraft

router = APIRouter(prefix="/portal/keys", route_class=PortalRoute, include_in_schema=False)
MAX_LISTED = 500  # keys and webhooks an account has are few; one page shows them all
TRACKER = "portal-test"
DAY = timedelta(hours=24)  # the window of the success rate beside each webhook


async def _live_key(services: Services, identity: PortalIdentity, key_id: str) -> ApiKey:
    key = await services.keys.get(key_id, account_id=identity.account_id)
    if key.revoked_at is not None:
        raise InvalidRequest(f"API key {key.name} is revoked")
    return key


@router.get("")
async def list_keys(request: Request, identity: Viewer, services: ServicesDep) -> Response:
    keys = await services.keys.list_page(account_id=identity.account_id, limit=MAX_LISTED)
    return render(request, "keys.html", {"keys": keys, "errors": {}, "name": ""})


@router.post("")
async def create_key(
    request: Request,
    identity: Manager,
    services: ServicesDep,
    name: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if not name.strip():
        keys = await services.keys.list_page(account_id=identity.account_id, limit=MAX_LISTED)
        errors = {"name": "give the key a name, e.g. production"}
        return render(request, "keys.html", {"keys": keys, "errors": errors, "name": name}, 422)
    created = await services.keys.create(account_id=identity.account_id, name=name.strip())
    # Shown in this response only: no redirect, so the secrets never enter a URL or history.
    return render(request, "key_created.html", {"created": created})


@router.get("/{key_id}")
async def key_detail(
    request: Request, key_id: str, identity: Viewer, services: ServicesDep
) -> Response:
    key = await services.keys.get(key_id, account_id=identity.account_id)
    webhooks = [
        w
        for w in await services.webhooks.list_page(principal_of(identity), limit=MAX_LISTED)
        if w.api_key_id == key.id
    ]
    principal = principal_of(identity)
    rates = {
        w.id: (await services.deliveries.status_counts(principal, w.id, [DAY]))[0].success_rate
        for w in webhooks
    }
    return render(
        request,
        "key.html",
        {
            "key": key,
            "webhooks": webhooks,
            "rates": rates,
            "triggerable": TRIGGERABLE,
            **catalog_context(),
        },
    )


@router.get("/{key_id}/revoke")
async def confirm_revoke(
    request: Request, key_id: str, identity: Manager, services: ServicesDep
) -> Response:
    key = await services.keys.get(key_id, account_id=identity.account_id)
    return render(request, "key_revoke.html", {"key": key})


@router.post("/{key_id}/revoke")
async def revoke_key(key_id: str, identity: Manager, services: ServicesDep) -> Response:
    await services.keys.revoke(key_id, account_id=identity.account_id)
    return see_other("/portal/keys")


@router.get("/{key_id}/webhooks/new")
async def new_webhook(
    request: Request, key_id: str, identity: Manager, services: ServicesDep
) -> Response:
    key = await _live_key(services, identity, key_id)
    context = {"key": key, "form": WebhookForm(), "errors": {}, **catalog_context()}
    return render(request, "webhook_form.html", context)


@router.post("/{key_id}/webhooks")
async def add_webhook(
    request: Request, key_id: str, identity: Manager, services: ServicesDep
) -> Response:
    key = await _live_key(services, identity, key_id)
    form = WebhookForm.parse(await request.form())
    try:
        created = await services.webhooks.create(
            principal_of(identity, key.id), WebhookDraft(**form.values())
        )
    except (ServiceError, FormError) as exc:
        status = exc.status if isinstance(exc, ServiceError) else 422
        context = {"key": key, "form": form, "errors": field_errors(exc), **catalog_context()}
        return render(request, "webhook_form.html", context, status)
    return render(
        request,
        "secret_once.html",
        {"webhook": created.webhook, "secret": created.secret, "rotated": None},
    )


@router.post("/{key_id}/trigger")
async def trigger_verification(
    key_id: str,
    identity: Manager,
    services: ServicesDep,
    event: Annotated[str, Form(max_length=64)] = catalog.VERIFICATION_COMPLETED,
    model: Annotated[str, Form(max_length=32)] = catalog.RECOMMENDED_MODEL,
) -> Response:
    """A simulated session through the real use cases: every subscribed webhook receives it."""
    key = await _live_key(services, identity, key_id)
    if event not in TRIGGERABLE:
        raise InvalidRequest(f"pick one of: {', '.join(TRIGGERABLE)}", field="event")
    view = await simulate(
        services.sessions,
        principal_of(identity, key.id),
        event,
        model=model,
        external_tracker=TRACKER,
    )
    return see_other(f"/portal/sessions/{view.session.id}")
