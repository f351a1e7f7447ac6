"""Who is calling a tool, and whether the key may: the API's own checks, answered as tool errors.

A tool runs ``async with caller(ctx, scope) as principal:``. The key is authenticated (stdio: the
key the process was started with, on every call, so a revoked key stops at once; HTTP: the
``Authorization`` header the endpoint already checked), the scope is checked by the API's own
``require``, and any refusal (a missing scope, a service's not-found or conflict, a rule the
arguments break) reaches the agent as an MCP tool error carrying the API's message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from livehook.api.deps import require
from livehook.api.errors import ApiError
from livehook.domain.accounts import Principal
from livehook.mcp_server.http import PRINCIPAL_STATE
from livehook.services.errors import ServiceError
from livehook.services.keys import KeyService

INVALID_KEY = "invalid or revoked API key"

ToolContext = Context[Any, Any]


# Who the caller of a tool is; raises ToolError when the key does not work.
Authenticator = Callable[[ToolContext], Awaitable[Principal]]


def key_authenticator(keys: KeyService, key: str) -> Authenticator:
    """stdio: the process's key, looked up on every call."""

    async def authenticate(_: ToolContext) -> Principal:
        principal = await keys.authenticate(key)
        if principal is None:
            raise ToolError(INVALID_KEY)
        return principal

    return authenticate


async def request_principal(ctx: ToolContext) -> Principal:
    """HTTP: the principal the `/mcp` endpoint authenticated from this request's header."""
    request = ctx.request_context.request
    state = getattr(request, "scope", {}).get("state", {})
    principal = state.get(PRINCIPAL_STATE)
    if not isinstance(principal, Principal):
        raise ToolError("missing API key: send `Authorization: Bearer <key>`")
    return principal


def validation_message(exc: ValidationError) -> str:
    """Field paths and messages, never the input (it could hold a secret)."""
    parts = [
        f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
        for err in exc.errors()[:5]
    ]
    return "invalid request: " + "; ".join(parts)


class Caller:
    """``async with caller(ctx, scope) as principal:`` around a tool's work."""

    def __init__(self, authenticate: Authenticator) -> None:
        self._authenticate = authenticate

    @asynccontextmanager
    async def __call__(self, ctx: ToolContext, scope: str) -> AsyncIterator[Principal]:
        principal = await self._authenticate(ctx)
        try:
            yield await require(scope)(principal)
        except (ApiError, ServiceError) as exc:
            raise ToolError(exc.message) from None
        except ValidationError as exc:
            raise ToolError(validation_message(exc)) from None
