"""The verification funnel."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from pydantic import Field

from livehook.api.schemas.common import UtcTime
from livehook.api.schemas.stats import FunnelPublic
from livehook.domain.scopes import STATS_READ
from livehook.mcp_server.access import Caller, ToolContext
from livehook.mcp_server.shapes import Funnel
from livehook.services.registry import Services


def register(server: MCPServer[Any], services: Services, caller: Caller) -> None:
    @server.tool(
        description="The verification funnel: sessions reaching each stage, conversion from "
        "`verification.initialized`, and where sessions dropped off. Default range: the last "
        "30 days. Needs `stats:read`.",
        annotations=ToolAnnotations(read_only_hint=True),
    )
    async def get_funnel(
        ctx: ToolContext,
        start: Annotated[
            UtcTime | None, Field(description="Sessions created from (inclusive; UTC if no zone).")
        ] = None,
        end: Annotated[
            UtcTime | None, Field(description="Until (exclusive; UTC if no zone); default now.")
        ] = None,
        external_tracker: Annotated[str | None, Field(max_length=255)] = None,
        model: Annotated[str | None, Field(max_length=32)] = None,
    ) -> Funnel:
        async with caller(ctx, STATS_READ) as principal:
            report = await services.stats.funnel(
                principal,
                start=start,
                end=end,
                external_tracker=external_tracker,
                model=model,
            )
        return Funnel.model_validate(FunnelPublic.of(report).model_dump())
