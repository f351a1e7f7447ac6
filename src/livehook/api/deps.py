"""Request dependencies: the services, the caller, and scope checks."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from livehook.api.errors import ApiError
from livehook.domain.accounts import Principal
from livehook.services.registry import Services

# Declared for OpenAPI's "Authorize" button; parsing below accepts both documented schemes.
_authorization = APIKeyHeader(
    name="Authorization",
    auto_error=False,
    description="`Bearer <key>` or `ApiKey <key>`",
)
_SCHEMES = ("bearer", "apikey")


# The dependencies are ``async def`` even where they do not await: FastAPI runs a plain
# ``def`` dependency in its thread pool, a thread hand-off on every request for nothing.
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


async def current_principal(
    services: ServicesDep, authorization: Annotated[str | None, Depends(_authorization)]
) -> Principal:
    if not authorization:
        raise _unauthorized("missing API key: send `Authorization: Bearer <key>`")
    scheme, _, key = authorization.strip().partition(" ")
    if scheme.lower() not in _SCHEMES or not key.strip():
        raise _unauthorized("malformed Authorization header: use `Bearer <key>` or `ApiKey <key>`")
    principal = await services.keys.authenticate(key.strip())
    if principal is None:
        raise _unauthorized("invalid or revoked API key")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(scope: str) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency that lets through only keys holding ``scope`` (or full access)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.allows(scope):
            raise ApiError(403, "forbidden", f"this API key lacks the `{scope}` scope")
        return principal

    return check


async def require_full_access(principal: CurrentPrincipal) -> Principal:
    if not principal.full_access:
        raise ApiError(
            403, "forbidden", "managing API keys needs a full-access key (one with no scopes)"
        )
    return principal


FullAccessPrincipal = Annotated[Principal, Depends(require_full_access)]
