"""A real webhook receiver on 127.0.0.1 (aiohttp.web) that records the raw bytes and headers.

Each path answers in a mode: ``ok`` (200), ``fail`` (500), ``gone`` (410), ``busy`` (429 with
``Retry-After``), ``hang`` (answers only once ``release`` is set), ``slow`` (200 after
``slow_seconds``). ``script`` paths answer the statuses queued with ``script(path, ...)`` in
order, then 200.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

MODES = ("ok", "fail", "gone", "busy", "hang", "slow")


@dataclass(frozen=True)
class Received:
    path: str
    body: bytes
    headers: list[tuple[str, str]]  # as they arrived, in order, duplicates kept
    at: float  # time.monotonic()

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def event_id(self) -> str | None:
        return self.header("X-Webhook-Id")


@dataclass
class Receiver:
    port: int = 0
    retry_after: str = "120"
    slow_seconds: float = 1.0
    received: list[Received] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _scripts: dict[str, deque[int]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *statuses: int) -> str:
        """Queue statuses for ``/script/<name>``; returns the URL."""
        self._scripts.setdefault(path, deque()).extend(statuses)
        return self.url(path)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def counts_by_event(self) -> Counter[str]:
        return Counter(r.event_id or "" for r in self.received)

    async def wait_for(self, count: int, within: float = 30.0, path: str | None = None) -> None:
        """Until ``count`` requests (to ``path``, if given) have arrived, for ``within`` s (a bound
        against a hang, generous: on a loaded machine a subprocess worker starts slowly)."""
        async with asyncio.timeout(within):
            while len(self.at(path) if path else self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        path = request.path
        self.received.append(Received(path, body, _decoded_headers(request), time.monotonic()))
        self.arrived.set()
        if path.startswith("/script/"):
            queued = self._scripts.get(path)
            return web.Response(status=queued.popleft() if queued else 200, text="scripted")
        mode = path.strip("/").split("/")[0]
        if mode == "fail":
            return web.Response(status=500, text="boom")
        if mode == "gone":
            return web.Response(status=410, text="gone")
        if mode == "busy":
            return web.Response(status=429, headers={"Retry-After": self.retry_after})
        if mode == "hang":
            await self.release.wait()
        if mode == "slow":
            await asyncio.sleep(self.slow_seconds)
        return web.Response(status=200, text="ok", headers={"X-Receiver": "test"})


def _decoded_headers(request: web.Request) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers]


@asynccontextmanager
async def running_receiver(**options: object) -> AsyncIterator[Receiver]:
    receiver = Receiver(**options)  # type: ignore[arg-type]
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.port = runner.addresses[0][1]
    try:
        yield receiver
    finally:
        receiver.release.set()
        await runner.cleanup()
