"""Refuse at the door what no route could store: a NUL character in the path or the query.

PostgreSQL refuses NUL in text, so an id or a filter holding one would fail inside a query;
nothing legitimate carries one, so it is a 400 before any route runs.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send

from livehook.api.envelope import error_response


class RefuseNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _holds_nul(scope):
            response = error_response(
                400, "bad_request", "the NUL character is not allowed in a path or query"
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _holds_nul(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    query: bytes = scope.get("query_string", b"")
    return "\x00" in path or b"\x00" in query or b"\x00" in unquote_to_bytes(query)
