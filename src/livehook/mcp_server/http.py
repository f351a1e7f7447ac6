"""`/mcp` on `livehook serve`: streamable HTTP, authenticated exactly as the API is.

The endpoint checks the `Authorization: Bearer|ApiKey <key>` header with the API's own
dependency (a missing or bad key gets the API's 401 envelope before any MCP exchange), leaves the
principal in the request's state for the tools, and hands the request to the SDK.

Stateless and answering in JSON: every request stands alone, so any number of `serve` processes
behind a load balancer can answer any request, and no session outlives a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from livehook.api.deps import current_principal
from livehook.api.envelope import error_response
from livehook.api.errors import ApiError
from livehook.config import Settings
from livehook.services.registry import Services

if TYPE_CHECKING:
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

PATH = "/mcp"
# Where the endpoint leaves the principal it authenticated, in the ASGI scope's state.
PRINCIPAL_STATE = "livehook_principal"


def mcp_endpoint(settings: Settings, services: Services) -> McpEndpoint:
    def build() -> StreamableHTTPSessionManager:
        # The SDK and the tools load here, on the first /mcp request, not at `serve`'s start:
        # importing them costs about 1.7 s of CPU that a server never asked for /mcp need not pay.
        from mcp.server.transport_security import TransportSecuritySettings

        from livehook.mcp_server.access import request_principal
        from livehook.mcp_server.server import build_server

        server = build_server(
            services, request_principal, verification_url=settings.verification_url
        )
        # Builds the SDK's session manager (the Starlette app it returns is not needed).
        server.streamable_http_app(
            streamable_http_path=PATH,
            stateless_http=True,
            json_response=True,
            # The SDK's DNS-rebinding guard pins Host to localhost, which would refuse every
            # deployment behind a real host name. Rebinding cannot help an attacker here: every
            # request must carry an API key in a header, which a rebound page does not have.
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        return server.session_manager

    return McpEndpoint(build, services)


class McpEndpoint:
    """An ASGI app for the `/mcp` route; ``running()`` belongs in the app's lifespan.

    The SDK's session manager is built on the first request that gets past the key check: in a
    worker thread, so the import does not stall the API's loop, and once (a lock), while any
    other request waits for it. It then runs in a task of its own until the lifespan ends."""

    def __init__(
        self, build: Callable[[], StreamableHTTPSessionManager], services: Services
    ) -> None:
        self._build = build
        self._services = services
        self._manager: StreamableHTTPSessionManager | None = None
        self._lock = asyncio.Lock()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def route(self) -> Route:
        # Any method: the SDK answers GET, POST and DELETE, and 405 to the rest.
        return Route(PATH, self, include_in_schema=False)

    def running(self) -> AbstractAsyncContextManager[None]:
        return self._running()

    @asynccontextmanager
    async def _running(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            async with self._lock:  # a build under way finishes, and its task is stopped too
                self._closed = True
                self._stop.set()
                if self._task is not None:
                    await self._task

    async def _started(self) -> StreamableHTTPSessionManager:
        if self._manager is not None:
            return self._manager
        async with self._lock:
            if self._manager is None:
                if self._closed:
                    raise RuntimeError("the /mcp endpoint has shut down")
                manager = await asyncio.to_thread(self._build)
                started = asyncio.Event()
                self._task = asyncio.create_task(self._run(manager, started))
                ready = asyncio.create_task(started.wait())
                await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
                if not started.is_set():
                    ready.cancel()
                    self._task.result()  # raises why the manager could not start
                self._manager = manager
        return self._manager

    async def _run(self, manager: StreamableHTTPSessionManager, started: asyncio.Event) -> None:
        # Entered and left in this one task: the SDK's task group requires it.
        async with manager.run():
            started.set()
            await self._stop.wait()

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
        manager = await self._started()
        await manager.handle_request(scope, receive, send)
