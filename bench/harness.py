"""What the livehook scenarios share: seeding, publishing, the worker process, the wait.

Publishing goes through the real fan-out (``services.fanout.emit``: events, then one pending
delivery per endpoint, in one transaction per batch of events, with the NOTIFY on PostgreSQL).
It skips the session bookkeeping of ``SessionService`` (a session row and its stage events per
verdict): that is the API's cost, measured elsewhere, not the delivery engine's.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]  # stubs are types-psutil, not installed
from sqlalchemy import func, select, text

from bench.celery_peer import ProcessTreePeakRss
from bench.limit import delivery_payload
from bench.receiver import ReceiverHandle
from livehook import ids
from livehook.crypto import SecretBox
from livehook.domain.accounts import Principal
from livehook.domain.catalog import MODELS
from livehook.domain.retry import RetryPolicy
from livehook.domain.sessions import Event
from livehook.domain.webhooks import Webhook
from livehook.services import fanout
from livehook.services.keys import KeyService
from livehook.services.sessions import SessionDraft, SessionService
from livehook.services.webhooks import WebhookService
from livehook.storage.database import Database
from livehook.storage.tables import deliveries

EVENT_TYPE = "verification.completed"
_REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Bench:
    """One scenario's database, encryption key, account and endpoints."""

    db: Database
    secret_key: str
    principal: Principal
    webhooks: list[Webhook]
    session_id: str  # every event belongs to this one session

    @property
    def box(self) -> SecretBox:
        return SecretBox([self.secret_key])


@asynccontextmanager
async def bench_database(url: str, urls: Sequence[str], timeout_s: int = 5) -> AsyncIterator[Bench]:
    """An account with one active webhook per URL of ``urls``, each with a signing secret."""
    db = Database.from_url(url, pool_size=2)
    key = secrets.token_urlsafe(32)
    box = SecretBox([key])
    try:
        created = await KeyService(db, box).create(account_name="bench", name="bench")
        principal = await KeyService(db, box).authenticate(created.plaintext)
        assert principal is not None
        # Before the webhooks exist, so its verification.initialized goes nowhere.
        sessions = SessionService(db, _no_guard)
        view = await sessions.create(principal, SessionDraft(model=next(iter(MODELS))))
        hooks = [await _webhook(db, box, principal, u, timeout_s) for u in urls]
        yield Bench(db, key, principal, hooks, view.session.id)
    finally:
        await db.dispose()


async def _webhook(
    db: Database, box: SecretBox, principal: Principal, url: str, timeout_s: int
) -> Webhook:
    # Inserted directly: registration refuses http://127.0.0.1 outside development settings.
    now = datetime.now(UTC)
    webhook = Webhook(
        id=ids.new_id("wh"),
        account_id=principal.account_id,
        api_key_id=principal.key_id,
        url=url,
        description="bench",
        events=(),
        model=None,
        payload_format="full",
        signature_scheme="hmac-sha256",
        retry_policy=RetryPolicy.standard().to_json(),
        timeout_seconds=timeout_s,
        headers={},
        status="active",
        disabled_reason=None,
        disabled_at=None,
        failing_since=None,
        created_at=now,
        updated_at=now,
    )
    service = WebhookService(db, box, _no_guard)
    async with db.transaction() as tx:
        repo = service.repository(tx)
        await repo.add(webhook, headers_encrypted=None)
        secret = box.encrypt(ids.new_signing_secret())
        await repo.add_secret(ids.new_id("whs"), webhook.id, secret, now)
    return webhook


async def _no_guard(url: str) -> str:
    return url


async def publish(bench: Bench, count: int, *, batch: int, first: int = 0) -> int:
    """``count`` events fanned out to every webhook, ``batch`` events per transaction; each
    body carries the wall-clock ns just before its transaction began. Returns deliveries."""
    enqueued = 0
    for start in range(first, first + count, batch):
        enqueued += await publish_batch(bench, range(start, min(start + batch, first + count)))
    return enqueued


async def publish_batch(bench: Bench, indexes: range) -> int:
    reported = time.time_ns()
    now = datetime.now(UTC)
    events = [
        Event(
            id=ids.new_id("evt"),
            account_id=bench.principal.account_id,
            session_id=bench.session_id,
            type=EVENT_TYPE,
            data=delivery_payload(index, reported)["data"],
            created_at=now,
        )
        for index in indexes
    ]
    async with bench.db.transaction() as tx:
        return await fanout.emit(tx, events, candidates=bench.webhooks, now=now)


async def succeeded(db: Database) -> int:
    async with db.transaction() as tx:
        stmt = select(func.count()).where(deliveries.c.status == "succeeded")
        return int((await tx.conn.execute(stmt)).scalar_one())


async def wait_succeeded(
    db: Database, receiver: ReceiverHandle, count: int, give_up_after: float
) -> tuple[int, float]:
    """Wait until ``count`` deliveries are recorded succeeded; (how many, wall-clock seconds
    since the epoch when that was seen). The receiver is asked first (every 20 ms, at no cost
    to the database); only once the 2xx answers are all out is the database polled (every
    5 ms), so the harness's own count query does not compete with the engine it measures."""
    deadline = time.monotonic() + give_up_after
    await receiver.wait_for(count, path_prefix="/ok/", give_up_after=give_up_after, poll=0.02)
    while True:
        seen = await succeeded(db)
        if seen >= count or time.monotonic() >= deadline:
            return seen, time.time()
        await asyncio.sleep(0.005)


@dataclass
class WorkerProcess:
    process: asyncio.subprocess.Process
    rss: ProcessTreePeakRss
    log: Path


@asynccontextmanager
async def worker_process(bench: Bench, url: str, work_dir: Path) -> AsyncIterator[WorkerProcess]:
    """``python -m livehook worker`` on the scenario's database, its process tree's RSS
    sampled; stopped with SIGTERM (in-flight sends finish) at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHOOK_")}
    env |= {
        "LIVEHOOK_HOME": str(work_dir),
        "LIVEHOOK_DATABASE_URL": url,
        "LIVEHOOK_SECRET_KEY": bench.secret_key,
        "LIVEHOOK_ALLOW_LOCAL_URLS": "1",
        "LIVEHOOK_LOG_LEVEL": "warning",
    }
    os.makedirs(work_dir, exist_ok=True)
    log = work_dir / "worker.log"
    with log.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "livehook", "worker", env=env, cwd=_REPO_ROOT, stderr=err
        )
    handle = WorkerProcess(process, ProcessTreePeakRss(process.pid), log)
    try:
        with handle.rss:
            await _wait_started(handle)
            yield handle
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


@dataclass
class Workers:
    """The scenario's worker processes."""

    processes: list[WorkerProcess]

    @property
    def peak_mb(self) -> float:
        """Sum of each process tree's peak RSS: an upper bound of what they held at once."""
        return sum(w.rss.peak_mb for w in self.processes)

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the worker processes have spent so far."""
        return sum(_cpu_s(w.process.pid) for w in self.processes)

    def summaries(self) -> list[str]:
        """Each stopped worker's own count of claims and rows handed back (its last line)."""
        found: list[str] = []
        for w in self.processes:
            lines = [
                line
                for line in w.log.read_text(errors="replace").splitlines()
                if "livehook worker stopped:" in line
            ]
            found.extend(line.split("stopped: ", 1)[1] for line in lines[-1:])
        return found


def _cpu_s(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return float(times.user + times.system)


@dataclass
class CpuSplit:
    """CPU seconds spent during a measurement by the worker processes, the database server's
    backends of the scenario's database (PostgreSQL; SQLite runs inside the processes) and this
    process (the publisher). The machine is shared: rates are noisy, CPU per delivery is not."""

    worker_s: float
    database_s: float
    publisher_s: float

    def per_delivery(self, deliveries: int) -> str:
        def us(seconds: float) -> str:
            return f"{seconds / max(1, deliveries) * 1e6:,.0f}"

        return (
            f"CPU per delivery: worker {us(self.worker_s)} µs, database "
            f"{us(self.database_s)} µs, publisher {us(self.publisher_s)} µs"
        )


class CpuMeter:
    """Start at the beginning of a measurement, ``stop`` at its end (workers still running)."""

    def __init__(self, db: Database, workers: Workers) -> None:
        self._db = db
        self._workers = workers
        self._start: tuple[float, dict[int, float], float] = (0.0, {}, 0.0)

    async def _backends(self) -> dict[int, float]:
        if self._db.dialect != "postgresql":
            return {}
        async with self._db.transaction() as tx:
            query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            pids = (await tx.conn.execute(text(query))).scalars().all()
        return {int(pid): _cpu_s(int(pid)) for pid in pids}

    async def start(self) -> None:
        self._start = (self._workers.cpu_s(), await self._backends(), _cpu_s(os.getpid()))

    async def stop(self) -> CpuSplit:
        worker, backends, publisher = self._start
        now = await self._backends()
        # A backend that came and went in between is not counted: the pools keep theirs.
        database = sum(cpu - backends.get(pid, 0.0) for pid, cpu in now.items())
        return CpuSplit(self._workers.cpu_s() - worker, database, _cpu_s(os.getpid()) - publisher)


@asynccontextmanager
async def worker_processes(
    bench: Bench, url: str, work_dir: Path, count: int
) -> AsyncIterator[Workers]:
    """``count`` worker processes (``worker_process``) sharing the scenario's database."""
    async with AsyncExitStack() as stack:
        started = [
            await stack.enter_async_context(worker_process(bench, url, work_dir / f"worker-{n}"))
            for n in range(count)
        ]
        yield Workers(started)


async def _wait_started(handle: WorkerProcess, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while b"worker running" not in handle.log.read_bytes():
        if handle.process.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start: {handle.log.read_text()[-2000:]}")
        await asyncio.sleep(0.05)


def latencies_ms(records: dict[str, Any], prefix: str) -> list[float]:
    """Receiver arrival minus the body's ``reported_at_ns``, for 2xx paths under ``prefix``."""
    return [
        (arrival - reported) / 1e6
        for arrival, path, reported in zip(
            records["arrival_ns"], records["path"], records["field"], strict=True
        )
        if path.startswith(prefix) and reported
    ]
