"""Waking the delivery worker: PostgreSQL LISTEN/NOTIFY, SQLite's change counter, an in-process
event, polling underneath.

``storage/delivery_queue.py`` sends the PostgreSQL notification with every write that makes rows
due, in the writer's transaction (delivered at commit, so a worker never looks before the rows
are visible); after the commit the services set the in-process ``Wakeup``. SQLite has no
notifications: a worker in another process watches ``PRAGMA data_version``, which changes
whenever another connection commits. A worker that misses every signal still finds the rows on
its next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from typing import Any

import aiosqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from livehook.logs import get_logger
from livehook.storage.delivery_queue_sql import DELIVERY_CHANNEL as CHANNEL
from livehook.storage.wakeup import Wakeup

log = get_logger(__name__)

# A lost LISTEN connection is retried after this long, doubling up to the maximum.
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 30.0
# How often a worker on SQLite reads the change counter: a few microseconds a read, and the
# wait it adds to a delivery is at most this.
SQLITE_WATCH_INTERVAL_S = 0.005


def asyncpg_dsn(engine: AsyncEngine) -> str:
    """The engine's URL as plain asyncpg accepts it."""
    url = make_url(engine.url.render_as_string(hide_password=False))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class _Watch(ABC):
    """A background task that wakes the worker; ``connected`` is set while it can hear."""

    _name = "livehook-watch"

    def __init__(self, wakeup: Wakeup) -> None:
        self._wakeup = wakeup
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @abstractmethod
    async def _run(self) -> None:
        """Until cancelled: watch, and ``self._wakeup.set()`` on news."""


class PostgresListener(_Watch):
    """LISTEN on a dedicated asyncpg connection (pooled ones are returned between queries);
    reconnects when the connection is lost, and wakes the worker after every reconnect since
    notifications sent meanwhile are gone."""

    _name = "livehook-listen"

    def __init__(self, dsn: str, wakeup: Wakeup) -> None:
        super().__init__(wakeup)
        self._dsn = dsn

    def _on_notify(self, *_: Any) -> None:
        self._wakeup.set()

    async def _run(self) -> None:
        # Imported here: only a worker on PostgreSQL listens, and most commands never do.
        import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints

        delay = RECONNECT_MIN_S
        while True:
            try:
                conn = await asyncpg.connect(self._dsn, timeout=10)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning("LISTEN connection failed; polling meanwhile", error=str(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            delay = RECONNECT_MIN_S
            try:
                await self._listen(conn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("LISTEN connection broke; reconnecting", error=str(exc))
            finally:
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)

    async def _listen(self, conn: Any) -> None:
        """Until the connection is lost."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        await conn.add_listener(CHANNEL, self._on_notify)
        self.connected.set()
        self._wakeup.set()  # whatever was notified while we were away
        await lost.wait()
        log.warning("LISTEN connection lost; reconnecting")


class SqliteWatcher(_Watch):
    """Wakes the worker when another connection (another process's, or this one's pool) commits
    to the SQLite file: SQLite's own cross-process signal, read on a dedicated connection that
    never takes a lock."""

    _name = "livehook-sqlite-watch"

    def __init__(self, path: str, wakeup: Wakeup, interval_s: float = SQLITE_WATCH_INTERVAL_S):
        super().__init__(wakeup)
        self._path = path
        self._interval_s = interval_s

    async def _run(self) -> None:
        while True:
            try:
                async with aiosqlite.connect(self._path, isolation_level=None) as conn:
                    await self._watch(conn)
            except (OSError, aiosqlite.Error) as exc:
                self.connected.clear()
                log.warning("watching the SQLite file failed; polling meanwhile", error=str(exc))
                await asyncio.sleep(RECONNECT_MIN_S)

    async def _watch(self, conn: aiosqlite.Connection) -> None:
        seen = await _data_version(conn)
        self.connected.set()
        self._wakeup.set()  # whatever was written before we looked
        while True:
            await asyncio.sleep(self._interval_s)
            version = await _data_version(conn)
            if version != seen:
                seen = version
                self._wakeup.set()


async def _data_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA data_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0
