"""The monitoring port of `livehook worker --metrics-port`: `/metrics` (Prometheus), `/healthz`
and `/readyz` (the database and this worker's heartbeat), as `livehook serve` answers them."""

from __future__ import annotations

import contextlib

from aiohttp import web

from livehook import metrics
from livehook.delivery.worker import Worker
from livehook.services.monitoring import refresh_queue_metrics
from livehook.storage.database import Database
from livehook.storage.errors import StorageError


class MonitorServer:
    def __init__(self, db: Database, worker: Worker, *, host: str, port: int) -> None:
        self._db = db
        self._worker = worker
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _metrics(self, _: web.Request) -> web.Response:
        with contextlib.suppress(StorageError):
            await refresh_queue_metrics(self._db)
        body, content_type = metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"data": {"status": "ok"}, "success": True, "message": "ok"})

    async def _readyz(self, _: web.Request) -> web.Response:
        parts = {
            "database": "ok" if await self._db.ping() else "unavailable",
            "worker": self._worker.health(),
        }
        if all(state == "ok" for state in parts.values()):
            body = {"data": {"status": "ok", **parts}, "success": True, "message": "ok"}
            return web.json_response(body)
        failing = ", ".join(f"{name} {state}" for name, state in parts.items() if state != "ok")
        body = {
            "data": None,
            "success": False,
            "message": f"not ready: {failing}",
            "error": "not_ready",
            "details": parts,
        }
        return web.json_response(body, status=503)
