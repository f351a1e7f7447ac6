"""Deliveries to `livehook listen`: sent down the developer's WebSocket instead of over HTTP.

A listening endpoint is an ordinary webhook whose URL is ``livehook-listen://<key id>``: its
deliveries are queued, claimed, signed, retried and logged by the delivery worker like any
other. Only the last step differs: the worker's ``Sender`` hands them to the ``ListenerHub``,
which sends the exact bytes and headers down the socket of the CLI listening for that URL in
this process, and waits for the answer of the developer's local server, which the CLI reports
back. The answer becomes the attempt, exactly as an HTTP answer would; no socket, or no answer
in time, is a failed attempt, retried by the endpoint's policy like any network error; when
the CLI connects again, everything pending for its endpoint comes due at once. A worker of
another process (a separate `livehook worker`, a second serve) holds no socket for it, so
`livehook listen` is meant for one serve that runs its worker, as on a developer's machine.
When serve runs its worker in processes of its own (``LIVEHOOK_WORKER_PROCESSES``), those
claim every other delivery and serve keeps a worker that claims only these
(``WorkerConfig.targets``), so they still reach the sockets held here.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import structlog

from livehook.delivery.sender import RESPONSE_EXCERPT_BYTES, SendResult
from livehook.domain.listening import NOT_CONNECTED

log = structlog.get_logger(__name__)


class Connection(Protocol):
    """The server side of one `livehook listen` socket (a Starlette WebSocket fits)."""

    async def send_json(self, data: Any, mode: str = "text") -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


class _Listener:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.waiting: dict[str, asyncio.Future[SendResult]] = {}
        self.send_lock = asyncio.Lock()


class ListenerHub:
    """The `livehook listen` sockets connected to this process, by endpoint URL."""

    def __init__(self) -> None:
        self._listeners: dict[str, _Listener] = {}
        # Told the endpoint key (webhook id) when a listener connects: the worker forgets the
        # failures it booked while nobody listened, so what waited goes out at once.
        self.on_connect: list[Callable[[str], None]] = []

    def connected(self, url: str) -> bool:
        return url in self._listeners

    async def attach(self, url: str, endpoint_key: str, connection: Connection) -> None:
        """``connection`` listens for ``url`` from now on; one it replaces is closed."""
        previous = self._listeners.get(url)
        self._listeners[url] = _Listener(connection)
        if previous is not None:
            _fail_waiting(previous, "livehook listen was replaced by a newer connection")
            try:
                await previous.connection.close(4409, "another livehook listen took over")
            except Exception:  # already gone: nothing to tell it
                log.debug("closing a replaced listener failed", exc_info=True)
        for callback in self.on_connect:
            callback(endpoint_key)

    def detach(self, url: str, connection: Connection) -> None:
        """``connection`` is gone: its attempts in flight fail (and are retried)."""
        listener = self._listeners.get(url)
        if listener is not None and listener.connection is connection:
            del self._listeners[url]
            _fail_waiting(listener, "livehook listen disconnected before answering")

    def answer(self, url: str, connection: Connection, message: Mapping[str, Any]) -> bool:
        """Resolve the attempt ``message`` answers; False if it matches none in flight."""
        listener = self._listeners.get(url)
        if listener is None or listener.connection is not connection:
            return False
        future = listener.waiting.pop(str(message.get("request_id")), None)
        if future is None or future.done():
            return False
        future.set_result(result_of_answer(message))
        return True

    async def send(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        timeout: float,  # noqa: ASYNC109 -- the endpoint's per-attempt limit, as for HTTP
    ) -> SendResult:
        """Send one attempt down the socket listening for ``url``; its answer, or why none."""
        started = time.perf_counter()
        listener = self._listeners.get(url)
        if listener is None:
            return _failed(NOT_CONNECTED, started)
        request_id = secrets.token_hex(8)
        future: asyncio.Future[SendResult] = asyncio.get_running_loop().create_future()
        listener.waiting[request_id] = future
        frame = {
            "type": "delivery",
            "request_id": request_id,
            "headers": dict(headers),
            "body": base64.b64encode(body).decode("ascii"),
            "timeout_s": timeout,
        }
        try:
            async with listener.send_lock:
                await listener.connection.send_json(frame)
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return _failed(f"no answer from livehook listen within {timeout:g} s", started, True)
        except Exception:
            return _failed("livehook listen disconnected before answering", started)
        finally:
            listener.waiting.pop(request_id, None)


def result_of_answer(message: Mapping[str, Any]) -> SendResult:
    """The attempt's result from the CLI's report of what the local server answered."""
    status = message.get("status")
    raw_headers = message.get("headers")
    headers = (
        {str(k): str(v) for k, v in raw_headers.items()} if isinstance(raw_headers, dict) else {}
    )
    try:
        body = base64.b64decode(str(message.get("body") or ""), validate=True)
    except ValueError:
        body = b""
    duration = message.get("duration_ms")
    error = message.get("error")
    valid_status = isinstance(status, int) and 100 <= status <= 599
    return SendResult(
        status=status if valid_status else None,
        headers=headers if valid_status else {},
        body_excerpt=body[:RESPONSE_EXCERPT_BYTES],
        duration_ms=float(duration) if isinstance(duration, int | float) else 0.0,
        error=None if valid_status else f"local target: {str(error or 'no answer')[:200]}",
        timed_out=bool(message.get("timed_out")) and not valid_status,
        retry_after=next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        if valid_status
        else None,
    )


def _failed(error: str, started: float, timed_out: bool = False) -> SendResult:
    duration = (time.perf_counter() - started) * 1000
    return SendResult(None, {}, b"", duration, error, timed_out, None)


def _fail_waiting(listener: _Listener, reason: str) -> None:
    for future in listener.waiting.values():
        if not future.done():
            future.set_exception(ConnectionError(reason))
    listener.waiting.clear()
