"""`/docs` and `/redoc` from assets livehook serves itself, never from a public CDN.

FastAPI's default pages load Swagger UI and ReDoc from a CDN, so they stay blank wherever the
browser cannot reach it (a private network, an air-gapped deployment). The same upstream files
are vendored under ``static/`` (see its README for their versions and licences).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
ASSETS_PATH = "/_docs-assets"
DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"


def install_docs(app: FastAPI) -> None:
    """Mount the vendored assets and the two documentation pages (out of the OpenAPI schema)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=STATIC_DIR), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    title = app.title

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} — API",
            oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/swagger-ui/favicon-32x32.png",
        )

    @app.get(OAUTH2_REDIRECT_PATH, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_PATH, include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} — API reference",
            redoc_js_url=f"{ASSETS_PATH}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_PATH}/swagger-ui/favicon-32x32.png",
            # Google Fonts is a CDN too; the page falls back to the system's sans-serif.
            with_google_fonts=False,
        )
