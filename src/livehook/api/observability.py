"""One middleware that makes each API request observable: a request id on every log line of
the request (and on the answer, `X-Request-Id`), one access log line, the request metrics, and
a trace span when tracing is configured.

The access line holds the method, the route template, the status, the duration and the request
id: never a header, a query string or a body, so no key or secret can reach the log.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from livehook import metrics, tracing

log = structlog.get_logger("livehook.access")
REQUEST_ID_HEADER = "X-Request-Id"
# A caller's own id is kept if it looks like one (a proxy's, a client's); anything else is
# replaced, so a log line never carries what a client chose to put there.
_USABLE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_UNMATCHED = "unmatched"
# A method outside these is counted as OTHER: a client must not mint new label values.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = str(value.decode("latin-1"))
            if _USABLE_ID.match(text):
                return text
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else _UNMATCHED


class RequestObservability:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        status = 500  # what the client sees if the app fails before answering
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with (
            structlog.contextvars.bound_contextvars(request_id=request_id),
            tracing.request_span(scope, method) as span,
        ):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route = route_template(scope)
                seconds = time.perf_counter() - started
                tracing.end_request_span(span, route, status)
                metrics.REQUESTS.labels(method, route, str(status)).inc()
                metrics.REQUEST_SECONDS.labels(method, route).observe(seconds)
                log.info(
                    "request",
                    method=method,
                    route=route,
                    status=status,
                    duration_ms=round(seconds * 1000, 2),
                )


def fastapi_options() -> dict[str, Any]:
    """Turn off FastAPI's own telemetry where it has some (0.16x): livehook makes the request
    spans itself, and FastAPI's would also record validation errors with their input values,
    where a secret can be."""
    import inspect

    from fastapi import FastAPI

    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}
    off = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
    return {"telemetry": off}
