"""The delivery log: list an endpoint's deliveries, read one with its attempts, redeliver."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from livehook.api.envelope import Page
from livehook.api.pagination import page_of
from livehook.api.schemas.common import AwareUtcTime
from livehook.api.schemas.deliveries import AttemptPublic, DeliveryDetailPublic, DeliveryPublic
from livehook.constants import DEFAULT_PAGE_SIZE
from livehook.domain.scopes import DELIVERIES_READ, DELIVERIES_WRITE
from livehook.mcp_server.access import Caller, ToolContext
from livehook.mcp_server.webhooks import Cursor, Limit, WebhookId
from livehook.services.registry import Services
from livehook.storage.repositories.delivery_log import DeliveryFilters

DeliveryId = Annotated[str, Field(max_length=64, description="The delivery's id (`dlv_…`).")]


def register(server: MCPServer[Any], services: Services, caller: Caller) -> None:
    @server.tool(
        description="List an endpoint's deliveries, newest first, with the log's filters (event "
        "type, model, status, creation time). Pass `next_cursor` back as `cursor` for more. "
        "Needs `deliveries:read`.",
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def list_deliveries(
        ctx: ToolContext,
        webhook_id: WebhookId,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        event: Annotated[str | None, Field(max_length=64, description="Event type.")] = None,
        model: Annotated[str | None, Field(max_length=32)] = None,
        status: Literal["pending", "succeeded", "failed"] | None = None,
        created_after: Annotated[
            AwareUtcTime | None, Field(description="Inclusive; ISO 8601 with a zone.")
        ] = None,
        created_before: Annotated[
            AwareUtcTime | None, Field(description="Exclusive; ISO 8601 with a zone.")
        ] = None,
    ) -> Page[DeliveryPublic]:
        filters = DeliveryFilters(
            event_type=event,
            model=model,
            status=status,
            created_after=created_after,
            created_before=created_before,
        )
        async with caller(ctx, DELIVERIES_READ) as principal:
            rows = await services.deliveries.list_for_webhook(
                principal, webhook_id, filters, before=cursor, limit=limit + 1
            )
        return page_of(rows, limit, DeliveryPublic.of)

    @server.tool(
        description="One delivery: the exact body signed and sent, and every attempt with the "
        "request headers, the response status, headers and body, the duration and the error. "
        "Needs `deliveries:read`.",
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def get_delivery(ctx: ToolContext, delivery_id: DeliveryId) -> DeliveryDetailPublic:
        async with caller(ctx, DELIVERIES_READ) as principal:
            detail = await services.deliveries.get(principal, delivery_id)
        return DeliveryDetailPublic(
            **DeliveryPublic.of(detail.delivery).model_dump(),
            request_body=detail.delivery.request_body,
            attempts=[AttemptPublic.of(a) for a in detail.attempts],
        )

    @server.tool(
        description="Attempt a delivery again now: the same event id and the same bytes, so "
        "receivers de-duplicate it. Needs `deliveries:write`.",
    )
    async def redeliver(ctx: ToolContext, delivery_id: DeliveryId) -> DeliveryPublic:
        async with caller(ctx, DELIVERIES_WRITE) as principal:
            delivery = await services.deliveries.redeliver(principal, delivery_id)
        return DeliveryPublic.of(delivery)
