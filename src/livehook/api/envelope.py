"""The response envelope: ``{"data", "success", "message"}`` (+ ``error``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    data: T
    success: bool = True
    message: str = "ok"


class Page(BaseModel, Generic[T]):
    """A cursor-paginated list: pass ``next_cursor`` as ``cursor`` to get the next page."""

    items: list[T]
    next_cursor: str | None = Field(description="Null on the last page.")
    has_more: bool


class ErrorEnvelope(BaseModel):
    data: None = None
    success: bool = False
    message: str
    error: str = Field(description="Machine-readable error code.")
    details: Any = None


def ok(data: Any, message: str = "ok") -> dict[str, Any]:
    return {"data": data, "success": True, "message": message}


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"data": None, "success": False, "message": message, "error": code}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in (
        (401, "Missing or invalid API key"),
        (403, "The key lacks the scope this route needs"),
        (404, "Not found (or another account's object)"),
        (413, "Request body too large"),
        (422, "Invalid request"),
    )
}
