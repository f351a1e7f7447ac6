"""The app factory: one of the two composition roots (the CLI is the other)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from livehook import __version__
from livehook.api.errors import install_error_handlers
from livehook.api.guards import RefuseNul
from livehook.api.limits import BodySizeLimit
from livehook.api.observability import RequestObservability, fastapi_options
from livehook.api.openapi import install_openapi
from livehook.api.routes import (
    catalog,
    deliveries,
    events,
    health,
    keys,
    me,
    sessions,
    stats,
    webhooks,
)
from livehook.api.routes import metrics as metrics_routes
from livehook.config import Settings
from livehook.constants import MAX_REQUEST_BODY_BYTES
from livehook.crypto import SecretBox
from livehook.delivery.config import WorkerConfig
from livehook.delivery.resolver import check_url_resolves_safely
from livehook.delivery.sender import Sender
from livehook.delivery.worker import Worker
from livehook.services.deliveries import DeliveryService
from livehook.services.keys import KeyService
from livehook.services.registry import Services
from livehook.services.sessions import SessionService
from livehook.services.stats import StatsService
from livehook.services.webhooks import WebhookService
from livehook.storage.db import Database
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
    webhooks_service = WebhookService(db, box, url_guard)
    return Services(
        db=db,
        box=box,
        keys=KeyService(db, box),
        webhooks=webhooks_service,
        sessions=SessionService(db, url_guard, on_enqueued=wakeup.set),
        stats=StatsService(db),
        deliveries=DeliveryService(
            db,
            webhooks_service,
            on_enqueued=wakeup.set,
            retention=timedelta(days=settings.retention_days),
        ),
        wakeup=wakeup,
        allow_local_urls=allow_local,
    )


def build_worker(
    settings: Settings, services: Services, *, concurrency: int | None = None
) -> Worker:
    """The delivery worker over ``services``, woken by the same ``Wakeup``."""
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
        ),
        config=config,
        wakeup=services.wakeup,
    )


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """An app over ``services`` (built from ``settings`` when not given)."""
    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        worker = build_worker(settings, services) if settings.run_worker else None
        app.state.worker = worker  # /readyz reports its health
        if worker is not None:
            worker.start()
        try:
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
        docs_url="/docs",
        redoc_url="/redoc",
        **fastapi_options(),
    )
    app.state.services = services
    app.state.settings = settings
    install_error_handlers(app)
    install_openapi(app)
    for module in (health, me, keys, webhooks, sessions, events, stats, deliveries, catalog):
        app.include_router(module.router)
    app.include_router(metrics_routes.router)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_REQUEST_BODY_BYTES)
    app.add_middleware(RefuseNul)
    app.add_middleware(RequestObservability)  # outermost: sees every answer, even a refusal
    return app
