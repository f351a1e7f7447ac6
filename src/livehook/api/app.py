"""The app factory: one of the two composition roots (the CLI is the other)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from livehook import __version__
from livehook.api.errors import install_error_handlers
from livehook.api.limits import BodySizeLimit
from livehook.api.routes import catalog, health, keys, me, webhooks
from livehook.config import Settings
from livehook.constants import MAX_REQUEST_BODY_BYTES
from livehook.crypto import SecretBox
from livehook.delivery.resolver import check_url_resolves_safely
from livehook.services.keys import KeyService
from livehook.services.registry import Services
from livehook.services.webhooks import WebhookService
from livehook.storage.db import Database

DESCRIPTION = """
Signed, retried, logged webhooks for human-verification sessions.

Authenticate with `Authorization: Bearer <key>` (or `ApiKey <key>`). Every response uses the
envelope `{"data", "success", "message"}`; errors add a machine-readable `error` code.
"""


def build_services(settings: Settings) -> Services:
    db = Database.from_url(settings.resolved_database_url)
    box = SecretBox(settings.secret_keys())
    allow_local = settings.allow_local_urls

    async def url_guard(url: str) -> str:
        return (await check_url_resolves_safely(url, allow_local=allow_local)).url

    return Services(
        db=db,
        box=box,
        keys=KeyService(db, box),
        webhooks=WebhookService(db, box, url_guard),
        allow_local_urls=allow_local,
    )


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """An app over ``services`` (built from ``settings`` when not given)."""
    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await services.db.dispose()

    app = FastAPI(
        title="livehook",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url="/redoc",
    )
    app.state.services = services
    app.state.settings = settings
    install_error_handlers(app)
    for module in (health, me, keys, webhooks, catalog):
        app.include_router(module.router)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_REQUEST_BODY_BYTES)
    return app
