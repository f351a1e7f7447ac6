"""`/mcp` on `livehook serve`: streamable HTTP, authenticated exactly as the API is.

The endpoint checks the `Authorization: Bearer|ApiKey <key>` header with the API's own
dependency (a missing or bad key gets the API's 401 envelope before any MCP exchange), leaves the
principal in the request's state for the tools, and hands the request to the SDK.

Stateless and answering in JSON: every request stands alone, so any number of `serve` processes
behind a load balancer can answer any request, and no session outlives a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from livehook.api.deps import current_principal
from livehook.api.envelope import error_response
from livehook.api.errors import ApiError
from livehook.config import Settings
from livehook.mcp_server.access import PRINCIPAL_STATE, request_principal
from livehook.mcp_server.server import build_server
from livehook.services.registry import Services

PATH = "/mcp"
# The SDK's DNS-rebinding guard pins Host to localhost, which would refuse every deployment
# behind a real host name. Rebinding cannot help an attacker here: every request must carry an
# API key in a header, which a rebound page does not have.
_NO_HOST_PINNING = TransportSecuritySettings(enable_dns_rebinding_protection=False)


def mcp_endpoint(settings: Settings, services: Services) -> McpEndpoint:
    def build() -> MCPServer[Any]:
        return build_server(services, request_principal, verification_url=settings.verification_url)

    return McpEndpoint(build, services)


class McpEndpoint:
    """An ASGI app for the `/mcp` route; ``running()`` belongs in the app's lifespan."""

    def __init__(self, build: Callable[[], MCPServer[Any]], services: Services) -> None:
        # Built when first needed (the lifespan's start, or a first request): the tools' schemas
        # cost a fifth of a second, which an app that never serves /mcp (a test's) need not pay.
        self._build = build
        self._built: StreamableHTTPSessionManager | None = None
        self._services = services

    @property
    def _manager(self) -> StreamableHTTPSessionManager:
        if self._built is None:
            server = self._build()
            # Builds the SDK's session manager (the Starlette app it returns is not needed).
            server.streamable_http_app(
                streamable_http_path=PATH,
                stateless_http=True,
                json_response=True,
                transport_security=_NO_HOST_PINNING,
            )
            self._built = server.session_manager
        return self._built

    @property
    def route(self) -> Route:
        # Any method: the SDK answers GET, POST and DELETE, and 405 to the rest.
        return Route(PATH, self, include_in_schema=False)

    def running(self) -> AbstractAsyncContextManager[None]:
        return self._manager.run()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            principal = await current_principal(
                self._services, request.headers.get("authorization")
            )
        except ApiError as exc:
            response = error_response(exc.status, exc.code, exc.message, headers=exc.headers)
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[PRINCIPAL_STATE] = principal
        await self._manager.handle_request(scope, receive, send)
