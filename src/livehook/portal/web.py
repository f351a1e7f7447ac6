"""What every portal route shares: the route class that guards it, the signed-in identity,
capability checks, and rendering.

``PortalRoute`` wraps each handler: it sets the CSRF cookie on a first visit, refuses an unsafe
request without a valid CSRF token (forms and htmx alike), and turns the errors a page can end
in (not signed in, a missing capability, a service's refusal) into pages, never a JSON body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from livehook.domain.accounts import Principal
from livehook.domain.portal import MANAGE, SECRETS, VIEW, PortalIdentity
from livehook.portal import filters
from livehook.portal.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    CsrfError,
    PortalKeys,
    new_csrf_seed,
    same_origin,
    set_csrf_cookie,
)
from livehook.services.errors import ServiceError
from livehook.services.registry import Services

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
filters.install(TEMPLATES.env)

# Pages hold secrets once and account data always: never cached, never framed, no referrer to
# other sites (a sign-in link's token must not leak; "no-referrer" would also make browsers
# send `Origin: null` on the portal's own forms), scripts only from the portal itself.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}

CAPABILITY_NAMES = {VIEW: "view", MANAGE: "manage", SECRETS: "secrets"}


class SignInRequired(Exception):
    pass


class MissingCapability(Exception):
    def __init__(self, capability: str) -> None:
        super().__init__(capability)
        self.capability = capability


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def keys_of(request: Request) -> PortalKeys:
    keys: PortalKeys = request.app.state.portal_keys
    return keys


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    values = {
        "identity": getattr(request.state, "identity", None),
        "csrf_token": request.state.csrf_token,
        "csrf_field": CSRF_FIELD,
        "csrf_header": CSRF_HEADER,
        **(context or {}),
    }
    return TEMPLATES.TemplateResponse(request, template, values, status_code=status)


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    return render(request, "error.html", {"title": title, "message": message}, status)


async def _csrf_checked(request: Request, keys: PortalKeys) -> None:
    if not same_origin(request):
        raise CsrfError("cross-origin request")
    presented = request.headers.get(CSRF_HEADER)
    if presented is None:
        field = (await request.form()).get(CSRF_FIELD)
        presented = field if isinstance(field, str) else None
    keys.check_csrf(request.cookies.get(CSRF_COOKIE), presented)


def _sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/portal/signin?next={quote(target, safe='')}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


class PortalRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            keys = keys_of(request)
            seed = request.cookies.get(CSRF_COOKIE)
            fresh = None if seed else new_csrf_seed()
            request.state.csrf_token = keys.csrf_token(seed or fresh or "")
            response = await _handled(request, handler, keys)
            if fresh is not None:
                set_csrf_cookie(response, request, fresh)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return guarded


async def _handled(
    request: Request, handler: Callable[[Request], Awaitable[Response]], keys: PortalKeys
) -> Response:
    try:
        if request.method not in SAFE_METHODS:
            await _csrf_checked(request, keys)
        return await handler(request)
    except CsrfError:
        return error_page(
            request,
            403,
            "Form expired",
            "This form could not be verified (it may be from an old page or another site). "
            "Go back, reload the page and try again.",
        )
    except RequestValidationError as exc:
        problems = "; ".join(str(e["msg"]) for e in exc.errors()[:3])
        return error_page(request, 422, "Could not do that", f"The form was refused: {problems}.")
    except SignInRequired:
        return _sign_in_redirect(request)
    except MissingCapability as exc:
        return error_page(
            request,
            403,
            "Not allowed",
            f"Your sign-in does not have the “{exc.capability}” capability needed for this.",
        )
    except ServiceError as exc:
        return error_page(request, exc.status, "Could not do that", exc.message)


async def current_identity(request: Request) -> PortalIdentity:
    token = keys_of(request).unseal(request.cookies.get(SESSION_COOKIE))
    identity = await services_of(request).portal.identify(token) if token else None
    if identity is None:
        raise SignInRequired
    request.state.identity = identity
    return identity


def require(capability: str) -> Callable[[PortalIdentity], Awaitable[PortalIdentity]]:
    """A dependency letting through sessions holding ``capability`` (as API scopes do)."""

    async def check(
        identity: Annotated[PortalIdentity, Depends(current_identity)],
    ) -> PortalIdentity:
        if not identity.allows(capability):
            raise MissingCapability(capability)
        return identity

    return check


Viewer = Annotated[PortalIdentity, Depends(require(VIEW))]
Manager = Annotated[PortalIdentity, Depends(require(MANAGE))]
SecretsHolder = Annotated[PortalIdentity, Depends(require(SECRETS))]
ServicesDep = Annotated[Services, Depends(services_of)]


def principal_of(identity: PortalIdentity, key_id: str = "") -> Principal:
    """The caller the services see: the account with full access, acting through ``key_id``
    where the use case belongs to a key (registering a webhook, starting a session)."""
    return Principal(
        account_id=identity.account_id,
        account_name=identity.account_name,
        key_id=key_id,
        scopes=(),
    )


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)
