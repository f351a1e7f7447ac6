"""Mounting the portal on the app: its pages, its static files, its keys."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from livehook.portal.routes import auth, deliveries, insights, keys, webhooks
from livehook.portal.security import PortalKeys

STATIC = Path(__file__).parent / "static"


def install_portal(app: FastAPI, secret_key: str) -> None:
    """Serve the portal at /portal; cookies and CSRF tokens are keyed from ``secret_key``."""
    app.state.portal_keys = PortalKeys(secret_key)
    app.mount("/portal/static", StaticFiles(directory=STATIC), name="portal-static")
    for module in (auth, keys, webhooks, deliveries, insights):
        app.include_router(module.router)
