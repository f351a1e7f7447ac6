"""The client side of `livehook listen`: the socket to `livehook serve` and the local POSTs.

It says only what is true: "Ready" once the server confirmed the endpoint listens, a line when
the socket drops and each time it tries again (with a growing pause), and the bytes it posts are
the bytes the server sent (base64 on the socket, never re-serialised).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp

# The server keeps the first 4 KiB of an answer in the delivery log: no point sending more.
ANSWER_EXCERPT_BYTES = 4096
# Pauses between reconnection attempts: quick at first (a server restart), then patient.
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 10.0
# Close codes the server uses for a refusal that trying again cannot fix (bad key, bad filter).
FINAL_CLOSE_CODES = frozenset({4401, 4422})
STOP_ACK_TIMEOUT_S = 5.0
# aiohttp adds these unless told not to: the local server gets the delivery's headers only.
_SKIPPED_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


@dataclass(frozen=True, slots=True)
class ListenOptions:
    forward_to: str
    key: str
    api_url: str
    events: tuple[str, ...] = ()
    since: str | None = None  # ISO 8601


class Reporter(Protocol):
    """Where `livehook listen` says what happens (Rich lines or JSON lines)."""

    def connecting(self, url: str) -> None: ...
    def ready(self, ready: Mapping[str, Any], forward_to: str, reconnected: bool) -> None: ...
    def disconnected(self, reason: str, retry_in: float) -> None: ...
    def delivery(self, headers: Mapping[str, str]) -> None: ...
    def answer(self, headers: Mapping[str, str], answer: Mapping[str, Any]) -> None: ...
    def refused(self, message: str) -> None: ...
    def stopped(self, endpoint_id: str | None) -> None: ...


def socket_url(api_url: str, options: ListenOptions) -> str:
    parts = urlsplit(api_url.rstrip("/"))
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    query = {"events": ",".join(options.events)} if options.events else {}
    if options.since:
        query["since"] = options.since
    return urlunsplit((scheme, parts.netloc, parts.path + "/v1/listen", urlencode(query), ""))


class Listener:
    def __init__(self, options: ListenOptions, reporter: Reporter, stop: asyncio.Event) -> None:
        self._options = options
        self._out = reporter
        self._stop = stop
        self._backoff = BACKOFF_FIRST_S
        self._connected_once = False
        self._forwards: set[asyncio.Task[None]] = set()

    async def run(self) -> int:
        """Until Ctrl-C (0) or a refusal that retrying cannot fix (1)."""
        url = socket_url(self._options.api_url, self._options)
        headers = {"Authorization": f"Bearer {self._options.key}"}
        async with aiohttp.ClientSession(
            skip_auto_headers=_SKIPPED_AUTO_HEADERS, auto_decompress=False
        ) as http:
            while not self._stop.is_set():
                self._out.connecting(url)
                try:
                    ws = await http.ws_connect(url, headers=headers, heartbeat=15)
                except (aiohttp.ClientError, OSError) as exc:
                    await self._pause(_describe(exc))
                    continue
                async with ws:
                    outcome = await self._session(http, ws)
                if outcome is not None:
                    return outcome
            # Ctrl-C while not connected: one short try to end the endpoint all the same.
            await self._stop_remotely(http, headers)
        return 0

    async def _stop_remotely(self, http: aiohttp.ClientSession, headers: dict[str, str]) -> None:
        plain = ListenOptions(self._options.forward_to, self._options.key, self._options.api_url)
        stopped: str | None = None
        try:
            async with (
                asyncio.timeout(STOP_ACK_TIMEOUT_S),
                http.ws_connect(socket_url(plain.api_url, plain), headers=headers) as ws,
            ):
                message = await _receive(ws)
                if message is not None and message.get("type") == "ready":
                    await ws.send_json({"type": "stop"})
                    while (message := await _receive(ws)) is not None:
                        if message.get("type") == "stopped":
                            stopped = str(message.get("endpoint_id"))
                            break
        except (TimeoutError, aiohttp.ClientError, OSError):
            pass
        self._out.stopped(stopped)

    async def _session(
        self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse
    ) -> int | None:
        """One connection: None to reconnect, else the exit code."""
        first = await _receive(ws)
        if first is None or first.get("type") != "ready":
            if first is not None and first.get("type") == "error":
                self._out.refused(str(first.get("message")))
                return 1
            await self._pause(_close_reason(ws))
            return None
        self._out.ready(first, self._options.forward_to, self._connected_once)
        self._connected_once = True
        self._backoff = BACKOFF_FIRST_S
        endpoint_id = first.get("endpoint_id")
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            while True:
                receiving = asyncio.ensure_future(_receive(ws))
                await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if stopping.done():
                    await self._send_stop(ws, endpoint_id, receiving)
                    return 0
                message = receiving.result()
                if message is None:
                    if ws.close_code in FINAL_CLOSE_CODES:
                        self._out.refused(_close_reason(ws))
                        return 1
                    await self._pause(_close_reason(ws))
                    return None
                if message.get("type") == "delivery":
                    self._start_forward(http, ws, message)
        finally:
            stopping.cancel()

    async def _send_stop(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        endpoint_id: Any,
        receiving: asyncio.Future[dict[str, Any] | None],
    ) -> None:
        """Answer what is in flight, ask the server to end the endpoint, wait for its word.
        ``receiving`` is the read already waiting: a socket has one reader at a time."""
        await asyncio.gather(*self._forwards, return_exceptions=True)
        try:
            await ws.send_json({"type": "stop"})
            async with asyncio.timeout(STOP_ACK_TIMEOUT_S):
                message = await receiving
                while message is not None:
                    if message.get("type") == "stopped":
                        self._out.stopped(str(endpoint_id))
                        return
                    message = await _receive(ws)
        except (TimeoutError, aiohttp.ClientError, ConnectionError):
            pass
        finally:
            receiving.cancel()
        self._out.stopped(None)

    def _start_forward(
        self,
        http: aiohttp.ClientSession,
        ws: aiohttp.ClientWebSocketResponse,
        message: Mapping[str, Any],
    ) -> None:
        task = asyncio.create_task(self._forward(http, ws, message))
        self._forwards.add(task)
        task.add_done_callback(self._forwards.discard)

    async def _forward(
        self,
        http: aiohttp.ClientSession,
        ws: aiohttp.ClientWebSocketResponse,
        message: Mapping[str, Any],
    ) -> None:
        headers = {str(k): str(v) for k, v in dict(message.get("headers") or {}).items()}
        self._out.delivery(headers)
        body = base64.b64decode(str(message.get("body") or ""))
        timeout = float(message.get("timeout_s") or 10)
        answer = await post_locally(http, self._options.forward_to, body, headers, timeout)
        self._out.answer(headers, answer)
        reply = {"type": "answer", "request_id": message.get("request_id"), **answer}
        # If the socket dropped meanwhile, the server fails this attempt and retries it.
        with contextlib.suppress(aiohttp.ClientError, ConnectionError):
            await ws.send_json(reply)

    async def _pause(self, reason: str) -> None:
        delay = self._backoff
        self._backoff = min(BACKOFF_MAX_S, self._backoff * 2)
        self._out.disconnected(reason, delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay)


async def post_locally(
    http: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,  # noqa: ASYNC109 -- a little under the server's wait for the answer
) -> dict[str, Any]:
    """POST the exact bytes and headers; what the local server answered, as the server logs it."""
    started = time.perf_counter()
    try:
        async with http.post(
            url,
            data=body,
            headers=dict(headers),
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=max(0.5, timeout - 0.5)),
        ) as response:
            excerpt = await response.content.read(ANSWER_EXCERPT_BYTES)
            return {
                "status": response.status,
                "reason": response.reason,
                "headers": dict(response.headers.items()),
                "body": base64.b64encode(excerpt).decode("ascii"),
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            }
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return {
            "status": None,
            "error": _describe(exc),
            "timed_out": isinstance(exc, TimeoutError),
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        }


async def _receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any] | None:
    """The next JSON object, or None once the socket is closed."""
    while True:
        msg = await ws.receive()
        if msg.type == aiohttp.WSMsgType.TEXT:
            try:
                data = msg.json()
            except ValueError:
                continue
            if isinstance(data, dict):
                return data
        elif msg.type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSING,
            aiohttp.WSMsgType.CLOSED,
            aiohttp.WSMsgType.ERROR,
        ):
            return None


def _close_reason(ws: aiohttp.ClientWebSocketResponse) -> str:
    code = ws.close_code
    if code == 1012:
        return "the server is restarting"
    if code == 1001:
        return "the server is shutting down"
    if code == 4409:
        return "another livehook listen for this key took over"
    if code in FINAL_CLOSE_CODES:
        return "refused by the server"
    return f"connection closed (code {code})" if code else "connection lost"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"the server refused the WebSocket ({exc.status}): is this a livehook serve?"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {exc.host}:{exc.port} ({exc.os_error.strerror or exc})"
    return str(exc) or type(exc).__name__
