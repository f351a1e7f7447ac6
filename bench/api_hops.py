"""Statements and aiosqlite thread hops per API call on SQLite: a count, not a time.

``python -m bench.api_hops`` runs the real app in-process (no network) over a fresh SQLite
database and counts, per call, the SQL statements SQLAlchemy sends and the jobs handed to
aiosqlite's thread (each one a wake-up of that thread and of the event loop, the latency a
loaded machine multiplies), for ``GET /v1/me`` and a verdict with no recipient.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import httpx
from sqlalchemy import event

from bench.api_harness import MODEL, VERDICT
from livehook.composition import build_app, build_services
from livehook.config import Settings


class _Counts:
    def __init__(self) -> None:
        self.statements = 0
        self.hops = 0


async def _per_call(counts: _Counts, calls: int, one: Callable[[], Awaitable[Any]]) -> str:
    statements, hops = counts.statements, counts.hops
    for _ in range(calls):
        await one()
    return (
        f"{(counts.statements - statements) / calls:.1f} statements, "
        f"{(counts.hops - hops) / calls:.1f} thread hops"
    )


async def measure(calls: int) -> str:
    counts = _Counts()
    execute = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        counts.hops += 1
        return await execute(self, fn, *args, **kwargs)

    aiosqlite.Connection._execute = counted  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            home=Path(tmp),
            database_url=f"sqlite:///{tmp}/livehook.db",
            secret_key="bench-secret-key-0123456789abcdef",
            run_worker=False,
        )
        services = build_services(settings)
        await services.db.migrate()
        key = await services.keys.create(account_name="bench")
        event.listen(
            services.db.engine.sync_engine,
            "before_cursor_execute",
            lambda *_: setattr(counts, "statements", counts.statements + 1),
        )
        app = build_app(settings, services)
        headers = {"Authorization": f"Bearer {key.plaintext}"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=headers
        ) as client:

            async def ok(method: str, path: str, body: Any = None) -> Any:
                response = await client.request(method, path, json=body)
                assert response.status_code < 300, response.text
                return response.json()["data"]

            for _ in range(5):  # warm: the pool's connections
                await ok("GET", "/v1/me")
            me = await _per_call(counts, calls, lambda: ok("GET", "/v1/me"))
            sessions = [(await ok("POST", "/v1/sessions", {"model": MODEL}))["id"]]
            for _ in range(calls):
                sessions.append((await ok("POST", "/v1/sessions", {"model": MODEL}))["id"])
            for session in sessions:
                await ok(
                    "POST", f"/v1/sessions/{session}/stages", {"stage": "verification.started"}
                )
            verdict = await _per_call(
                counts, calls, lambda: ok("POST", f"/v1/sessions/{sessions.pop()}/result", VERDICT)
            )
        await services.db.dispose()
    aiosqlite.Connection._execute = execute  # type: ignore[method-assign]
    return f"sqlite: GET /v1/me: {me}; verdict (no recipient): {verdict}"


if __name__ == "__main__":
    print(asyncio.run(measure(20)))
