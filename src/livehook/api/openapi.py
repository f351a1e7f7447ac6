"""The OpenAPI document states every answer a route can give, including the shared ones.

Routes declare their own answers; the ones any route can give (a malformed request, a method
the path does not have, an unavailable database) and the one every write can give (a reused
Idempotency-Key) are added here, once, instead of on each route.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

_ERROR = {"$ref": "#/components/schemas/ErrorEnvelope"}
_WRITES = {"post", "patch", "put", "delete"}
_EVERY_ROUTE = {
    "400": "Malformed request (a NUL character, a value storage cannot hold)",
    "405": "The path does not accept this method",
    "503": "The database is briefly unavailable: retry after `Retry-After` seconds",
}
_EVERY_WRITE = {
    "409": "Conflicts with the current state, or the Idempotency-Key was used with another "
    "request (`idempotency_conflict`)",
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


def _complete(document: dict[str, Any]) -> dict[str, Any]:
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            shared = dict(_EVERY_ROUTE)
            if method in _WRITES:
                shared |= _EVERY_WRITE
            responses = operation.setdefault("responses", {})
            for status, description in shared.items():
                responses.setdefault(status, _error(description))
    return document


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document (built once, on first request, like FastAPI's own)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = _complete(document)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
