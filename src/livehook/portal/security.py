"""Cookies and CSRF for the portal.

- The session cookie holds a random token and an HMAC of it (``token.signature``): a forged or
  altered cookie is refused before any database lookup, and signing out deletes the row so a
  stolen cookie dies with the session. ``HttpOnly``, ``SameSite=Lax``, ``Secure`` over HTTPS.
- CSRF: a signed double-submit token. A random ``livehook_csrf`` cookie is set on the first
  page; every form carries HMAC(key, cookie) in a hidden field and every htmx request in the
  ``X-CSRF-Token`` header. A cross-site page can read neither the cookie nor the key. Unsafe
  requests must also come from the portal's own origin when the browser says where from.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "livehook_session"
CSRF_COOKIE = "livehook_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
COOKIE_PATH = "/portal"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfError(Exception):
    pass


class PortalKeys:
    """HMAC keys derived from the deployment's secret key, one per purpose."""

    def __init__(self, secret_key: str) -> None:
        def derive(label: str) -> bytes:
            return hmac.new(secret_key.encode(), label.encode(), hashlib.sha256).digest()

        self._session = derive("livehook portal session cookie v1")
        self._csrf = derive("livehook portal csrf v1")

    def seal(self, token: str) -> str:
        return f"{token}.{self._mac(self._session, token)}"

    def unseal(self, cookie: str | None) -> str | None:
        """The token of a cookie whose signature holds, else None."""
        if not cookie or "." not in cookie:
            return None
        token, _, signature = cookie.rpartition(".")
        return token if hmac.compare_digest(signature, self._mac(self._session, token)) else None

    def csrf_token(self, seed: str) -> str:
        return self._mac(self._csrf, seed)

    def check_csrf(self, seed: str | None, presented: str | None) -> None:
        if not seed or not presented:
            raise CsrfError("missing CSRF token")
        if not hmac.compare_digest(presented, self.csrf_token(seed)):
            raise CsrfError("CSRF token does not match")

    @staticmethod
    def _mac(key: bytes, value: str) -> str:
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def new_csrf_seed() -> str:
    return secrets.token_urlsafe(32)


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def same_origin(request: Request) -> bool:
    """False only when the browser names another origin (Origin, else Referer)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return source is None
    parts = urlsplit(source)
    return (parts.scheme, parts.netloc) == (request.url.scheme, request.url.netloc)


def set_session_cookie(response: Response, request: Request, sealed: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        sealed,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def set_csrf_cookie(response: Response, request: Request, seed: str) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        seed,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="lax", secure=is_https(request)
    )
