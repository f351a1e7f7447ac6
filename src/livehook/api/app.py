"""The app factory: one of the two composition roots (the CLI is the other)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from livehook import __version__
from livehook.api.docs import install_docs
from livehook.api.errors import install_error_handlers
from livehook.api.guards import RefuseNul
from livehook.api.limits import BodySizeLimit
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
from livehook.crypto import SecretBox
from livehook.delivery.config import WorkerConfig
from livehook.delivery.relay import ListenerHub
from livehook.delivery.resolver import check_url_resolves_safely
from livehook.delivery.sender import Sender
from livehook.delivery.worker import Worker
from livehook.portal.app import install_portal
from livehook.services.deliveries import DeliveryService
from livehook.services.keys import KeyService
from livehook.services.listening import ListenService
from livehook.services.portal import PortalService
from livehook.services.registry import Services
from livehook.services.sessions import SessionService
from livehook.services.stats import StatsService
from livehook.services.webhooks import WebhookService
from livehook.storage.database import Database
from livehook.storage.notify import Wakeup

DESCRIPTION = """
Signed, retried, logged webhooks for human-verification sessions.

Authenticate with `Authorization: Bearer <key>` (or `ApiKey <key>`). Every response uses the
envelope `{"data", "success", "message"}`; errors add a machine-readable `error` code.
"""


def build_services(settings: Settings, *, pre_ping: bool = True) -> Services:
    db = Database.from_url(settings.resolved_database_url, pre_ping=pre_ping)
    box = SecretBox(settings.secret_keys())
    allow_local = settings.allow_local_urls

    async def url_guard(url: str) -> str:
        return (await check_url_resolves_safely(url, allow_local=allow_local)).url

    wakeup = Wakeup()
    webhooks_service = WebhookService(
        db,
        box,
        url_guard,
        default_profile=settings.wire_profile,
        user_agent=settings.user_agent,
    )
    return Services(
        db=db,
        box=box,
        keys=KeyService(db, box),
        webhooks=webhooks_service,
        sessions=SessionService(
            db, url_guard, on_enqueued=wakeup.set, default_profile=settings.wire_profile
        ),
        stats=StatsService(db),
        deliveries=DeliveryService(
            db,
            webhooks_service,
            on_enqueued=wakeup.set,
            retention=timedelta(days=settings.retention_days),
        ),
        portal=PortalService(db),
        wakeup=wakeup,
        allow_local_urls=allow_local,
        listening=ListenService(db, webhooks_service, on_enqueued=wakeup.set),
    )


def build_worker(
    settings: Settings,
    services: Services,
    *,
    concurrency: int | None = None,
    listeners: ListenerHub | None = None,
) -> Worker:
    """The delivery worker over ``services``, woken by the same ``Wakeup``; ``listeners``: the
    `livehook listen` sockets of this process, which it sends their endpoints' deliveries to."""
    defaults = WorkerConfig()
    config = WorkerConfig(
        concurrency=concurrency or defaults.concurrency,
        disable_after=timedelta(days=settings.disable_after_days),
        retention=timedelta(days=settings.retention_days),
    )
    return Worker(
        services.db,
        services.webhooks,
        services.box,
        # Connections to one host: as many as an endpoint's cap can ever ask for.
        Sender(
            allow_local=settings.allow_local_urls,
            limit=config.concurrency,
            limit_per_host=config.limits.max_per_endpoint,
            relay=(listeners or ListenerHub()).send,
        ),
        config=config,
        wakeup=services.wakeup,
    )


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """An app over ``services`` (built from ``settings`` when not given)."""
    # Imported here: the MCP SDK is a second of imports that `livehook worker` never needs.
    from livehook.mcp_server.http import mcp_endpoint

    services = services or build_services(settings)
    mcp = mcp_endpoint(settings, services)

    listeners = ListenerHub()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker = (
            build_worker(settings, services, listeners=listeners) if settings.run_worker else None
        )
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
