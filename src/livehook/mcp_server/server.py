"""The MCP server: the tools and resources, over the services the API routes call."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from pydantic import ValidationError

from livehook import __version__
from livehook.mcp_server import catalog, deliveries, stats, verification, webhooks
from livehook.mcp_server.access import Authenticator, Caller, validation_message
from livehook.services.registry import Services

INSTRUCTIONS = """\
livehook verifies that a real human is present (a liveness check) and delivers the outcome as \
signed webhooks. To verify a human: call verify_human_presence (prefer giving a callback_url), \
hand the human the verification_url if one is returned, then wait for the signed callback or \
poll check_verification_status every 1-2 seconds until `ended` is true. The webhook, delivery \
and funnel tools manage where events go and show what was delivered."""


class LivehookMCP(MCPServer[Any]):
    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> Any:
        """As the SDK's, but arguments that break the schema are answered as the API answers
        a bad body: field paths and messages, never the values sent (one could be a secret)."""
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc, UnexpectedToolError) or not isinstance(
                exc.__cause__, ValidationError
            ):
                raise
            message = validation_message(exc.__cause__)
            raise ToolError(f"Error executing tool {name}: {message}") from exc.__cause__


def build_server(
    services: Services, authenticate: Authenticator, *, verification_url: str | None = None
) -> MCPServer[Any]:
    """The tools, each checking the caller's key through ``authenticate``."""
    server = LivehookMCP(
        "livehook",
        title="livehook",
        version=__version__,
        instructions=INSTRUCTIONS,
        # The SDK sets up the root logger when nothing has yet; at WARNING it stays quiet.
        log_level="WARNING",
    )
    caller = Caller(authenticate)
    verification.register(server, services, caller, verification_url)
    webhooks.register(server, services, caller)
    deliveries.register(server, services, caller)
    stats.register(server, services, caller)
    catalog.register(server)
    return server
