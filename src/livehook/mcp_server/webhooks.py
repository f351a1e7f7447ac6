"""Webhook endpoint tools: list, create (the secret in that one answer), update, delete, test."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from livehook.api.envelope import Page
from livehook.api.pagination import page_of
from livehook.api.schemas.deliveries import DeliveryPublic, SendTestRequest
from livehook.api.schemas.webhooks import (
    EventList,
    Headers,
    RetryPolicyField,
    WebhookCreate,
    WebhookPublic,
    WebhookUpdate,
    WebhookWithSecret,
)
from livehook.constants import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from livehook.domain.addresses import MAX_URL_LENGTH
from livehook.domain.payloads import PayloadFormat
from livehook.domain.scopes import DELIVERIES_WRITE, WEBHOOKS_READ, WEBHOOKS_WRITE
from livehook.domain.signing import SCHEME_HMAC_SHA256, SignatureScheme
from livehook.domain.webhooks import MAX_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS
from livehook.mcp_server.access import Caller, ToolContext
from livehook.mcp_server.shapes import Deleted
from livehook.services.registry import Services
from livehook.services.webhooks import WebhookDraft

WebhookId = Annotated[str, Field(max_length=64, description="The endpoint's id (`wh_…`).")]
Cursor = Annotated[
    str | None, Field(max_length=64, description="`next_cursor` of the previous page.")
]
Limit = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")]
Url = Annotated[
    str, Field(max_length=MAX_URL_LENGTH, description="HTTPS URL that receives the events.")
]
Timeout = Annotated[int, Field(ge=MIN_TIMEOUT_SECONDS, le=MAX_TIMEOUT_SECONDS)]
Description = Annotated[str, Field(max_length=500)]
ModelFilter = Annotated[str | None, Field(max_length=32, description="Only this model's events.")]


def register(server: MCPServer[Any], services: Services, caller: Caller) -> None:
    @server.tool(
        description="List the account's webhook endpoints (never their secrets), oldest first. "
        "Pass `next_cursor` back as `cursor` for the next page. Needs `webhooks:read`.",
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def list_webhooks(
        ctx: ToolContext,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        status: Literal["active", "disabled"] | None = None,
    ) -> Page[WebhookPublic]:
        async with caller(ctx, WEBHOOKS_READ) as principal:
            rows = await services.webhooks.list_page(
                principal, after=cursor, limit=limit + 1, status=status
            )
        return page_of(rows, limit, WebhookPublic.of)

    @server.tool(
        description="Register a webhook endpoint for this API key: livehook POSTs each event "
        "there, signed. The answer holds the signing `secret` ONCE: store it now, it is never "
        "shown again. `events` empty means every verification event. Needs `webhooks:write`.",
    )
    async def create_webhook(
        ctx: ToolContext,
        url: Url,
        description: Description = "",
        events: EventList | None = None,
        model: ModelFilter = None,
        payload_format: PayloadFormat = "full",
        signature_scheme: SignatureScheme = SCHEME_HMAC_SHA256,
        retry_policy: RetryPolicyField = "standard",
        timeout_seconds: Timeout = 5,
        headers: Headers | None = None,
    ) -> WebhookWithSecret:
        async with caller(ctx, WEBHOOKS_WRITE) as principal:
            body = WebhookCreate(
                url=url,
                description=description,
                events=events or [],
                model=model,
                payload_format=payload_format,
                signature_scheme=signature_scheme,
                retry_policy=retry_policy,
                timeout_seconds=timeout_seconds,
                headers=headers or {},
            )
            created = await services.webhooks.create(
                principal,
                WebhookDraft(**body.model_dump() | {"events": tuple(body.events)}),
            )
        public = WebhookPublic.of(created.webhook)
        return WebhookWithSecret(**public.model_dump(), secret=created.secret)

    @server.tool(
        description="Change a webhook endpoint: only the arguments given change. Set `status` "
        "to `disabled` to pause deliveries, `active` to resume. Needs `webhooks:write`.",
    )
    async def update_webhook(
        ctx: ToolContext,
        webhook_id: WebhookId,
        url: Url | None = None,
        description: Description | None = None,
        events: EventList | None = None,
        model: ModelFilter = None,
        payload_format: PayloadFormat | None = None,
        signature_scheme: SignatureScheme | None = None,
        retry_policy: RetryPolicyField | None = None,
        timeout_seconds: Timeout | None = None,
        headers: Headers | None = None,
        status: Literal["active", "disabled"] | None = None,
        disabled_reason: Annotated[str | None, Field(max_length=500)] = None,
        all_models: Annotated[
            bool, Field(description="True: receive every model's events again (clears `model`).")
        ] = False,
    ) -> WebhookPublic:
        given: dict[str, Any] = {
            name: value
            for name, value in {
                "url": url,
                "description": description,
                "events": events,
                "model": model,
                "payload_format": payload_format,
                "signature_scheme": signature_scheme,
                "retry_policy": retry_policy,
                "timeout_seconds": timeout_seconds,
                "headers": headers,
                "status": status,
                "disabled_reason": disabled_reason,
            }.items()
            if value is not None
        }
        if all_models:
            if model is not None:
                raise ToolError("give `model` or `all_models`, not both")
            given["model"] = None  # what the API's explicit `"model": null` means
        async with caller(ctx, WEBHOOKS_WRITE) as principal:
            changes = WebhookUpdate(**given).model_dump(exclude_unset=True)
            webhook = await services.webhooks.update(principal, webhook_id, changes)
        return WebhookPublic.of(webhook)

    @server.tool(
        description="Delete a webhook endpoint; its deliveries stop. Needs `webhooks:write`.",
        annotations=ToolAnnotations(destructive_hint=True),
    )
    async def delete_webhook(ctx: ToolContext, webhook_id: WebhookId) -> Deleted:
        async with caller(ctx, WEBHOOKS_WRITE) as principal:
            await services.webhooks.delete(principal, webhook_id)
        return Deleted(id=webhook_id)

    @server.tool(
        description="Send a signed test event (the catalog's example of `event_type`, marked "
        '`"test": true`) to one endpoint; returns the queued delivery, whose attempts '
        "get_delivery shows. Needs `deliveries:write`.",
    )
    async def send_test_event(
        ctx: ToolContext,
        webhook_id: WebhookId,
        event_type: Annotated[
            str, Field(max_length=64, description="An event type (see list_event_types).")
        ] = SendTestRequest().event_type,
    ) -> DeliveryPublic:
        async with caller(ctx, DELIVERIES_WRITE) as principal:
            delivery = await services.deliveries.send_test(principal, webhook_id, event_type)
        return DeliveryPublic.of(delivery)
