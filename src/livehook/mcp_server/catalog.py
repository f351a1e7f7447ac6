"""The event catalog: a tool naming the types, and resources with their schemas and examples."""

from __future__ import annotations

import json
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.types import ToolAnnotations

from livehook.domain.event_schemas import event_type_catalog
from livehook.mcp_server.shapes import EventTypes, EventTypeSummary

CATALOG_URI = "livehook://event-types"
EVENT_TYPE_URI = "livehook://event-types/{name}"
JSON = "application/json"


def register(server: MCPServer[Any]) -> None:
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
