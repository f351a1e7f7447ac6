"""Wake-ups: the in-process signal, and LISTEN/NOTIFY on PostgreSQL surviving a lost connection."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from livehook.storage.db import Database
from livehook.storage.notify import (
    CHANNEL,
    PostgresListener,
    Wakeup,
    asyncpg_dsn,
    notify_deliveries,
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
            await notify_deliveries(tx)
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
            await notify_deliveries(tx)
        assert await wakeup.wait(2) is True
    finally:
        await listener.stop()
