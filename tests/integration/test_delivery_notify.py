"""Wake-ups: the in-process signal, LISTEN/NOTIFY on PostgreSQL surviving a lost connection, and
SQLite's change counter across processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from livehook.storage.database import Database
from livehook.storage.delivery_queue_sql import NOTIFY_POSTGRES
from livehook.storage.notify import (
    CHANNEL,
    PostgresListener,
    SqliteWatcher,
    Wakeup,
    asyncpg_dsn,
)


async def test_a_wakeup_set_before_anyone_waits_is_not_lost() -> None:
    wakeup = Wakeup()
    wakeup.set()
    assert await wakeup.wait(0.01) is True
    assert await wakeup.wait(0.01) is False  # consumed: the next wait times out


async def test_a_wakeup_set_while_waiting_returns_at_once() -> None:
    wakeup = Wakeup()
    asyncio.get_running_loop().call_later(0.02, wakeup.set)
    assert await wakeup.wait(5) is True


async def _wait_connected(listener: PostgresListener) -> None:
    await asyncio.wait_for(listener.connected.wait(), 5)


@pytest.mark.parametrize("database_template", ["postgres"], indirect=True)
async def test_listen_wakes_on_notify_and_reconnects_after_the_connection_is_killed(
    db: Database,
) -> None:
    wakeup = Wakeup()
    listener = PostgresListener(asyncpg_dsn(db.engine), wakeup)
    await listener.start()
    try:
        await _wait_connected(listener)
        await wakeup.wait(0.01)  # the wake-up every (re)connection gives
        async with db.transaction() as tx:
            await tx.conn.execute(NOTIFY_POSTGRES)
        assert await wakeup.wait(2) is True

        async with db.transaction() as tx:
            killed = await tx.conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE :listen"
                ),
                {"listen": f"LISTEN %{CHANNEL}%"},
            )
            assert killed.scalars().all() == [True]
        # The reconnection wakes the worker: notifications sent meanwhile were lost.
        assert await wakeup.wait(5) is True
        await _wait_connected(listener)
        async with db.transaction() as tx:
            await tx.conn.execute(NOTIFY_POSTGRES)
        assert await wakeup.wait(2) is True
    finally:
        await listener.stop()


async def test_a_commit_to_the_sqlite_file_by_another_connection_wakes_the_watcher(
    tmp_path: Path,
) -> None:
    """What a `livehook worker` beside `livehook serve` on one SQLite file relies on."""
    url = f"sqlite:///{tmp_path / 'watched.db'}"
    writer = Database.from_url(url)  # as another process would, with its own connections
    async with writer.transaction() as tx:
        await tx.conn.execute(text("CREATE TABLE t (x INTEGER)"))
    wakeup = Wakeup()
    watched = Database.from_url(url)
    assert watched.sqlite_path == str(tmp_path / "watched.db")
    watcher = SqliteWatcher(watched.sqlite_path, wakeup, interval_s=0.005)
    await watcher.start()
    try:
        await asyncio.wait_for(watcher.connected.wait(), 5)
        await wakeup.wait(0.01)  # the wake-up every start gives
        assert await wakeup.wait(0.1) is False  # nothing committed: nothing to wake for
        async with writer.transaction() as tx:
            await tx.conn.execute(text("INSERT INTO t VALUES (1)"))
        assert await wakeup.wait(2) is True
        assert await wakeup.wait(0.1) is False
    finally:
        await watcher.stop()
        await writer.dispose()
        await watched.dispose()
