"""Signing in (password or link) and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from livehook.domain.portal import SESSION_TTL
from livehook.portal.security import SESSION_COOKIE, clear_session_cookie, set_session_cookie
from livehook.portal.web import (
    PortalRoute,
    ServicesDep,
    error_page,
    keys_of,
    render,
    see_other,
)
from livehook.services.portal import SignedIn, SignInRefused, TooManyAttempts

router = APIRouter(prefix="/portal", route_class=PortalRoute, include_in_schema=False)
HOME = "/portal/keys"


def _safe_next(target: str | None) -> str:
    # Only a path of the portal itself: never an open redirect to another site.
    if target and target.startswith("/portal/") and not target.startswith("//"):
        return target
    return HOME


def _signed_in(request: Request, signed: SignedIn, target: str) -> Response:
    response = see_other(target)
    max_age = int(SESSION_TTL.total_seconds())
    set_session_cookie(response, request, keys_of(request).seal(signed.token), max_age)
    return response


@router.get("")
@router.get("/")
async def home() -> Response:
    return see_other(HOME)


@router.get("/signin")
async def sign_in_page(request: Request, next: str | None = None) -> Response:
    return render(request, "signin.html", {"next": _safe_next(next), "errors": {}, "email": ""})


@router.post("/signin")
async def sign_in(
    request: Request,
    services: ServicesDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2048)] = HOME,
) -> Response:
    address = request.client.host if request.client else "unknown"
    try:
        signed = await services.portal.sign_in_password(email, password, address)
    except (SignInRefused, TooManyAttempts) as exc:
        context = {"next": _safe_next(next), "errors": {"password": exc.message}, "email": email}
        return render(request, "signin.html", context, status=exc.status)
    return _signed_in(request, signed, _safe_next(next))


@router.get("/link")
async def sign_in_with_link(request: Request, services: ServicesDep, token: str = "") -> Response:
    """Trade the link's token for a session; the redirect takes the token off the address bar."""
    try:
        signed = await services.portal.sign_in_link(token[:128])
    except SignInRefused as exc:
        return error_page(request, 401, "Sign-in link not valid", exc.message)
    return _signed_in(request, signed, HOME)


@router.post("/signout")
async def sign_out(request: Request, services: ServicesDep) -> Response:
    token = keys_of(request).unseal(request.cookies.get(SESSION_COOKIE))
    if token:
        await services.portal.sign_out(token)
    response = see_other("/portal/signin")
    clear_session_cookie(response, request)
    return response
