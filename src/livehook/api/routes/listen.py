"""`WS /v1/listen`: the socket of `livehook listen` (see ``delivery/relay.py``).

The client authenticates with the usual ``Authorization`` header on the handshake and may pass
``events`` (comma-separated) and ``since`` (ISO 8601). Frames are JSON text:

server -> client
  ``{"type": "ready", "endpoint_id", "url", "events", "signature_scheme", "secret", "due_now",
  "replayed"}`` once the endpoint listens; ``{"type": "delivery", "request_id", "headers",
  "body" (base64 of the exact bytes), "timeout_s"}`` per attempt; ``{"type": "stopped"}`` after a
  stop; ``{"type": "error", "error", "message"}`` before closing on a refusal.
client -> server
  ``{"type": "answer", "request_id", "status", "headers", "body" (base64, first 4 KiB),
  "duration_ms", "error", "timed_out"}`` per attempt; ``{"type": "stop"}`` on Ctrl-C.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from livehook.delivery.relay import ListenerHub
from livehook.domain.accounts import Principal
from livehook.domain.listening import listen_url
from livehook.services.errors import ServiceError
from livehook.services.listening import Listening
from livehook.services.registry import Services

log = structlog.get_logger(__name__)
router = APIRouter()

# Close codes of the private range (4000-4999): the CLI says why and does not retry these.
CLOSE_UNAUTHORIZED = 4401
CLOSE_REFUSED = 4422


@router.websocket("/v1/listen")
async def listen(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    await websocket.accept()
    principal = await _authenticate(websocket, services)
    if principal is None:
        return
    if not websocket.app.state.settings.run_worker:
        # The worker that claims a listening endpoint's deliveries sends them down the socket
        # it holds: a server without one could only fail them.
        await _refuse(
            websocket,
            CLOSE_REFUSED,
            "no_worker",
            "this livehook serve runs no delivery worker (LIVEHOOK_RUN_WORKER=false); "
            "point --api-url at one that does",
        )
        return
    try:
        listening = await services.listening.open(
            principal,
            events=_events(websocket.query_params.get("events")),
            since=_since(websocket.query_params.get("since")),
        )
    except (ServiceError, ValueError) as exc:
        message = exc.message if isinstance(exc, ServiceError) else str(exc)
        code = exc.code if isinstance(exc, ServiceError) else "invalid_request"
        await _refuse(websocket, CLOSE_REFUSED, code, message)
        return
    url = listen_url(principal.key_id)
    listeners: ListenerHub = websocket.app.state.listeners
    await listeners.attach(url, listening.webhook.id, websocket)
    log.info("livehook listen connected", endpoint=listening.webhook.id)
    try:
        await websocket.send_json(_ready(listening))
        await _serve(websocket, services, listeners, principal, listening)
    except WebSocketDisconnect:
        pass
    finally:
        listeners.detach(url, websocket)
        log.info("livehook listen disconnected", endpoint=listening.webhook.id)


async def _serve(
    websocket: WebSocket,
    services: Services,
    listeners: ListenerHub,
    principal: Principal,
    listening: Listening,
) -> None:
    url = listening.webhook.url
    while True:
        message = _parse(await websocket.receive_text())
        kind = message.get("type")
        if kind == "answer":
            listeners.answer(url, websocket, message)
        elif kind == "stop":
            listeners.detach(url, websocket)
            await services.listening.close(principal, listening.webhook.id)
            await websocket.send_json({"type": "stopped", "endpoint_id": listening.webhook.id})
            await websocket.close(1000, "stopped")
            return


async def _authenticate(websocket: WebSocket, services: Services) -> Principal | None:
    header = websocket.headers.get("authorization", "")
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() not in ("bearer", "apikey") or not key.strip():
        await _refuse(websocket, CLOSE_UNAUTHORIZED, "unauthorized", "missing API key: pass --key")
        return None
    principal = await services.keys.authenticate(key.strip())
    if principal is None:
        await _refuse(websocket, CLOSE_UNAUTHORIZED, "unauthorized", "invalid or revoked API key")
    return principal


async def _refuse(websocket: WebSocket, code: int, error: str, message: str) -> None:
    await websocket.send_json({"type": "error", "error": error, "message": message})
    await websocket.close(code, message[:120])


def _ready(listening: Listening) -> dict[str, Any]:
    webhook = listening.webhook
    return {
        "type": "ready",
        "endpoint_id": webhook.id,
        "url": webhook.url,
        "events": list(webhook.events),
        "signature_scheme": webhook.signature_scheme,
        "secret": listening.secret,
        "due_now": listening.due_now,
        "replayed": listening.replayed,
    }


def _events(raw: str | None) -> list[str]:
    return [name.strip() for name in (raw or "").split(",") if name.strip()]


def _since(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"since must be an ISO 8601 time, not {raw!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse(text: str) -> dict[str, Any]:
    try:
        message = json.loads(text)
    except ValueError:
        return {}
    return message if isinstance(message, dict) else {}
