"""The app factory: the API's routes, the portal and `/mcp` over services it is given.

It builds nothing of its own: `livehook.composition.build_app` hands it the services and, when
the process runs the worker, a way to build one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from livehook import __version__
from livehook.api.body_size import BodySizeLimit
from livehook.api.docs import install_docs
from livehook.api.errors import install_error_handlers
from livehook.api.guards import RefuseNul
from livehook.api.observability import RequestObservability, fastapi_options
from livehook.api.openapi import install_openapi
from livehook.api.routes import (
    aliases,
    callbacks,
    catalog,
    deliveries,
    events,
    health,
    keys,
    listen,
    me,
    portal_links,
    sessions,
    stats,
    webhooks,
)
from livehook.api.routes import metrics as metrics_routes
from livehook.config import Settings
from livehook.constants import MAX_REQUEST_BODY_BYTES
from livehook.delivery.relay import ListenerHub
from livehook.delivery.worker import Worker
from livehook.mcp_server.http import mcp_endpoint
from livehook.portal.app import install_portal
from livehook.services.registry import Services

DESCRIPTION = """
Signed, retried, logged webhooks for human-verification sessions.

Authenticate with `Authorization: Bearer <key>` (or `ApiKey <key>`). Every response uses the
envelope `{"data", "success", "message"}`; errors add a machine-readable `error` code.
"""


# Builds the in-process worker over the app's `livehook listen` sockets.
WorkerFactory = Callable[[ListenerHub], Worker]


def create_app(
    settings: Settings, services: Services, *, make_worker: WorkerFactory | None = None
) -> FastAPI:
    """An app over ``services``; its lifespan runs ``make_worker``'s worker when given."""
    mcp = mcp_endpoint(settings, services)

    listeners = ListenerHub()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker = make_worker(listeners) if make_worker is not None else None
        app.state.worker = worker  # /readyz reports its health
        if worker is not None:
            listeners.on_connect.append(worker.endpoint_back)
            worker.start()
        try:
            async with mcp.running():
                yield
        finally:
            if worker is not None:
                await worker.stop()  # in-flight sends finish and are recorded first
                await worker.close()
            await services.db.dispose()

    app = FastAPI(
        title="livehook",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # Served from vendored assets by install_docs, not FastAPI's CDN-backed pages.
        docs_url=None,
        redoc_url=None,
        **fastapi_options(),
    )
    app.state.services = services
    app.state.listeners = listeners
    app.state.settings = settings
    install_error_handlers(app)
    install_openapi(app)
    install_docs(app)
    for module in (health, me, keys, webhooks, sessions, events, stats, deliveries, catalog):
        app.include_router(module.router)
    app.include_router(metrics_routes.router)
    app.router.routes.append(mcp.route)
    app.include_router(portal_links.router)
    install_portal(app, settings.secret_keys()[0])
    app.include_router(listen.router)
    app.include_router(callbacks.router)
    app.include_router(aliases.router)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_REQUEST_BODY_BYTES)
    app.add_middleware(RefuseNul)
    app.add_middleware(RequestObservability)  # outermost: sees every answer, even a refusal
    return app
