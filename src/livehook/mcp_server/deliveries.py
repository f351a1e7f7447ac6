"""The delivery log, the funnel and the event catalog, as tools and resources."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.types import ToolAnnotations
from pydantic import AwareDatetime, Field

from livehook.api.envelope import Page
from livehook.api.pagination import page_of
from livehook.api.schemas.deliveries import AttemptPublic, DeliveryDetailPublic, DeliveryPublic
from livehook.api.schemas.sessions import as_utc
from livehook.api.schemas.stats import FunnelPublic
from livehook.constants import DEFAULT_PAGE_SIZE
from livehook.domain.schemas import event_type_catalog
from livehook.domain.scopes import DELIVERIES_READ, DELIVERIES_WRITE, STATS_READ
from livehook.mcp_server.access import Caller, ToolContext
from livehook.mcp_server.shapes import EventTypes, EventTypeSummary, Funnel
from livehook.mcp_server.webhooks import Cursor, Limit, WebhookId
from livehook.services.registry import Services
from livehook.storage.repositories.delivery_log import DeliveryFilters

DeliveryId = Annotated[str, Field(max_length=64, description="The delivery's id (`dlv_…`).")]
CATALOG_URI = "livehook://event-types"
EVENT_TYPE_URI = "livehook://event-types/{name}"
JSON = "application/json"


def register(server: MCPServer[Any], services: Services, caller: Caller) -> None:
    _register_deliveries(server, services, caller)
    _register_stats(server, services, caller)
    _register_catalog(server)


def _register_deliveries(server: MCPServer[Any], services: Services, caller: Caller) -> None:
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
            AwareDatetime | None, Field(description="Inclusive; ISO 8601 with a zone.")
        ] = None,
        created_before: Annotated[
            AwareDatetime | None, Field(description="Exclusive; ISO 8601 with a zone.")
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


def _register_stats(server: MCPServer[Any], services: Services, caller: Caller) -> None:
    @server.tool(
        description="The verification funnel: sessions reaching each stage, conversion from "
        "`verification.initialized`, and where sessions dropped off. Default range: the last "
        "30 days. Needs `stats:read`.",
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def get_funnel(
        ctx: ToolContext,
        start: Annotated[
            datetime | None, Field(description="Sessions created from (inclusive; UTC if no zone).")
        ] = None,
        end: Annotated[
            datetime | None, Field(description="Until (exclusive; UTC if no zone); default now.")
        ] = None,
        external_tracker: Annotated[str | None, Field(max_length=255)] = None,
        model: Annotated[str | None, Field(max_length=32)] = None,
    ) -> Funnel:
        async with caller(ctx, STATS_READ) as principal:
            report = await services.stats.funnel(
                principal,
                start=as_utc(start),
                end=as_utc(end),
                external_tracker=external_tracker,
                model=model,
            )
        return Funnel.model_validate(FunnelPublic.of(report).model_dump())


def _register_catalog(server: MCPServer[Any]) -> None:
    catalog = {entry["name"]: entry for entry in event_type_catalog()}

    @server.tool(
        description="Every event type a webhook can receive, in funnel order. Read the resource "
        f"`{CATALOG_URI}/<name>` for a type's JSON Schema and example payload.",
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def list_event_types() -> EventTypes:
        return EventTypes(
            event_types=[
                EventTypeSummary(
                    name=e["name"],
                    description=e["description"],
                    step=e["step"],
                    drop_off=e["drop_off"],
                    operational=e["operational"],
                    resource=EVENT_TYPE_URI.format(name=e["name"]),
                )
                for e in catalog.values()
            ]
        )

    @server.resource(
        CATALOG_URI,
        name="event-catalog",
        description="Every event type with its JSON Schema and an example, per payload format "
        "(`full`, `thin`): what a webhook receives.",
        mime_type=JSON,
    )
    def event_catalog() -> str:
        return json.dumps(list(catalog.values()), indent=2)

    @server.resource(
        EVENT_TYPE_URI,
        name="event-type",
        description="One event type's JSON Schema and example, per payload format.",
        mime_type=JSON,
    )
    def event_type(name: str) -> str:
        entry = catalog.get(name)
        if entry is None:
            raise ResourceNotFoundError(f"unknown event type {name!r}")
        return json.dumps(entry, indent=2)
