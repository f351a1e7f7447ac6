"""What the API scenarios share: a real ``livehook serve`` and a fast async client.

These scenarios drive livehook the way the verification engine does, through the HTTP API of a
``livehook serve`` subprocess (API and worker in one process, the default), so every figure
includes routing, authentication, validation, the outbox transaction and the response.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from bench.celery_peer import ProcessTreePeakRss
from livehook.crypto import SecretBox
from livehook.services.keys import KeyService
from livehook.storage.database import Database
from livehook.storage.tables import deliveries

_REPO_ROOT = Path(__file__).resolve().parents[1]
MODEL = "mixed-30-v2"
VERDICT = {
    "verdict": "live",
    "real_score": 0.94,
    "confidence": 0.93,
    "input_source": "rest_frames",
    "processing_ms": 845,
    "frames_processed": 30,
}


@dataclass
class Calls:
    """Latencies (ms) of the calls made, by call name."""

    ms: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, elapsed_ms: float) -> None:
        self.ms.setdefault(name, []).append(elapsed_ms)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.ms.values())


@dataclass
class Api:
    """A client of one running ``livehook serve``, authenticated with a full-access key."""

    base: str
    http: aiohttp.ClientSession
    calls: Calls = field(default_factory=Calls)

    async def call(self, name: str, method: str, path: str, body: Any = None) -> Any:
        """One request, timed under ``name``; the envelope's ``data`` is returned."""
        started = time.perf_counter()
        async with self.http.request(method, self.base + path, json=body) as response:
            payload = await response.json()
        self.calls.add(name, (time.perf_counter() - started) * 1000)
        if response.status >= 300:
            raise RuntimeError(f"{method} {path} -> {response.status}: {payload}")
        return payload["data"]

    async def webhook(self, url: str) -> str:
        data = await self.call("webhook", "POST", "/v1/webhooks", {"url": url})
        return str(data["id"])

    async def session(self, name: str = "create session") -> str:
        data = await self.call(name, "POST", "/v1/sessions", {"model": MODEL})
        return str(data["id"])

    async def stage(self, session_id: str, stage: str, name: str = "stage") -> None:
        await self.call(name, "POST", f"/v1/sessions/{session_id}/stages", {"stage": stage})

    async def verdict(self, session_id: str, name: str = "verdict") -> None:
        await self.call(name, "POST", f"/v1/sessions/{session_id}/result", VERDICT)

    async def completed_event_id(self, session_id: str) -> str:
        query = f"/v1/events?session_id={session_id}&type=verification.completed"
        page = await self.call("events", "GET", query)
        return str(page["items"][0]["id"])


@dataclass
class Served:
    api: Api
    rss: ProcessTreePeakRss
    db: Database  # the harness's own connection, for counting what succeeded


async def enqueued(db: Database) -> int:
    """Every delivery row: a verdict fans out its stage events as well as its completion."""
    async with db.transaction() as tx:
        rows = await tx.conn.execute(select(func.count()).select_from(deliveries))
        return int(rows.scalar_one())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _full_access_key(url: str, secret_key: str) -> str:
    db = Database.from_url(url, pool_size=1)
    try:
        created = await KeyService(db, SecretBox([secret_key])).create(
            account_name="bench", name="bench"
        )
        return created.plaintext
    finally:
        await db.dispose()


@asynccontextmanager
async def serving(url: str, work_dir: Path, *, run_worker: bool = True) -> AsyncIterator[Served]:
    """``livehook serve`` on the scenario's database and a free port, with a full-access key;
    stopped with SIGTERM (in-flight sends finish) at the end."""
    secret_key = secrets.token_urlsafe(32)
    key = await _full_access_key(url, secret_key)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHOOK_")}
    env |= {
        "LIVEHOOK_HOME": str(work_dir),
        "LIVEHOOK_DATABASE_URL": url,
        "LIVEHOOK_SECRET_KEY": secret_key,
        "LIVEHOOK_ALLOW_LOCAL_URLS": "1",
        "LIVEHOOK_RUN_WORKER": "true" if run_worker else "false",
        "LIVEHOOK_LOG_LEVEL": "warning",
    }
    # A/B of serve's worker placement: unset, serve's own default for the database.
    if (processes := os.environ.get("LIVEHOOK_BENCH_WORKER_PROCESSES")) is not None:
        env["LIVEHOOK_WORKER_PROCESSES"] = processes
    log = work_dir / "serve.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "livehook", "serve", "--port", str(port)),
            env=env,
            cwd=_REPO_ROOT,
            stdout=out,
            stderr=out,
        )
    headers = {"Authorization": f"Bearer {key}"}
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    db = Database.from_url(url, pool_size=1)
    try:
        async with aiohttp.ClientSession(headers=headers, connector=connector) as http:
            api = Api(f"http://127.0.0.1:{port}", http)
            with ProcessTreePeakRss(process.pid) as rss:
                await _wait_ready(api, process, log)
                yield Served(api, rss, db)
    finally:
        await db.dispose()
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _wait_ready(
    api: Api, process: asyncio.subprocess.Process, log: Path, within: float = 30.0
) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            async with api.http.get(api.base + "/readyz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        if process.returncode is not None or time.monotonic() > deadline:
            tail = log.read_text()[-2000:]  # noqa: ASYNC240 (a failed start: nothing else runs)
            raise RuntimeError(f"livehook serve did not start: {tail}")
        await asyncio.sleep(0.05)


async def run_clients(
    clients: int, seconds: float, one_round: Callable[[], Awaitable[None]]
) -> tuple[int, float]:
    """``clients`` loops running ``one_round`` until ``seconds`` have passed; (rounds, seconds)."""
    deadline = time.monotonic() + seconds
    rounds = 0

    async def loop() -> None:
        nonlocal rounds
        while time.monotonic() < deadline:
            await one_round()
            rounds += 1

    started = time.monotonic()
    await asyncio.gather(*(loop() for _ in range(clients)))
    return rounds, time.monotonic() - started
