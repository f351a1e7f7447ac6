"""The app under test, wired as livehook wires itself: the one place tests import the wiring
from, so that a move of the composition root is a one-line change here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from argon2 import PasswordHasher
from fastapi import FastAPI

from livehook.composition import build_app as create_app
from livehook.composition import build_services, build_worker
from livehook.config import Settings
from livehook.services.registry import Services

if TYPE_CHECKING:
    from livehook.services.portal import PortalService

__all__ = [
    "TEST_SECRET_KEY",
    "build_services",
    "build_worker",
    "create_app",
    "in_process_client",
    "running_services",
    "settings_for",
]

TEST_SECRET_KEY = "test-secret-key-0123456789abcdef"

# Argon2id at its smallest cost (0.1 ms a hash, production's takes ~0.2 s of CPU): for the
# in-process tests of what the portal does with a password. Production's parameters are still
# what every `livehook serve` of the e2e and browser tests hashes with, and
# tests/integration/test_portal_auth.py holds the default service to them.
FAST_PASSWORD_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def settings_for(home: Path, database_url: str, **overrides: Any) -> Settings:
    """Settings of a test's deployment: its own home and database, local URLs allowed, no
    in-process worker (tests run the worker by hand, on a fake clock)."""
    fields: dict[str, Any] = {
        "home": home,
        "database_url": database_url,
        "secret_key": TEST_SECRET_KEY,
        "allow_local_urls": True,
        "run_worker": False,
    }
    return Settings(**(fields | overrides))


@asynccontextmanager
async def running_services(settings: Settings) -> AsyncIterator[Services]:
    """Storage and services built from ``settings``; the database pool closed after."""
    built = build_services(settings)
    built.portal = _portal_with_a_fast_hash(built)
    try:
        yield built
    finally:
        await built.db.dispose()


@asynccontextmanager
async def in_process_client(
    settings: Settings, services: Services, base_url: str = "http://livehook.test"
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the real app in-process (no network)."""
    transport = httpx.ASGITransport(app=_app_over(settings, services))
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        yield client


# One app per test process and per settings (but for the test's own home and database): FastAPI
# builds a route's dependencies and response models on the first request to it in each new app,
# ~25 ms a router, which every in-process test paid again. No lifespan runs in-process (httpx's
# ASGITransport sends none), so what a test's app holds of its own is its services, settings,
# `livehook listen` sockets and `/mcp` endpoint: each test gets fresh ones (_serve).
_APPS: dict[str, FastAPI] = {}
_OWN = frozenset({"home", "database_url"})


def _app_over(settings: Settings, services: Services) -> FastAPI:
    shape = repr([getattr(settings, f) for f in Settings.FIELDS if f not in _OWN])
    app = _APPS.get(shape)
    if app is None:
        app = _APPS[shape] = create_app(settings, services)
    else:
        _serve(app, settings, services)
    return app


def _serve(app: FastAPI, settings: Settings, services: Services) -> None:
    from livehook.delivery.relay import ListenerHub
    from livehook.mcp_server.http import PATH, mcp_endpoint

    app.state.services = services
    app.state.settings = settings
    app.state.listeners = ListenerHub()
    routes = app.router.routes
    (index,) = (i for i, r in enumerate(routes) if getattr(r, "path", None) == PATH)
    routes[index] = mcp_endpoint(settings, services).route


def _portal_with_a_fast_hash(services: Services) -> PortalService:
    from livehook.services.portal import PortalService

    return PortalService(services.db, hasher=FAST_PASSWORD_HASHER)
