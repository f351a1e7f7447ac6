"""The database handle: reads run on their own snapshot, beside an open write; a connection
the server closed is replaced before anyone uses it."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import text

from livehook.domain.accounts import Account
from livehook.storage.database import Database
from livehook.storage.notify import asyncpg_dsn
from livehook.storage.repositories.accounts import AccountRepository

# Long enough never to trip on a loaded machine; a read queued behind the write never ends.
_HANG = 30


# A snapshot of several statements, and one statement alone (the API's key lookup).
READS = ("read", "single_read")


async def _named(db: Database, name: str, read: str = "read") -> Account | None:
    async with getattr(db, read)() as tx:
        return await AccountRepository(tx).by_name(name)


@pytest.mark.parametrize("read", READS)
async def test_a_read_runs_while_a_write_is_open_and_sees_only_what_was_committed(
    db: Database, read: str
) -> None:
    account = Account(id="acct_snapshot", name="snapshot", created_at=datetime.now(UTC))
    async with db.transaction() as tx:
        await AccountRepository(tx).add(account)
        # Within the open write (holding SQLite's write lock and this process's turn).
        assert await asyncio.wait_for(_named(db, "snapshot", read), _HANG) is None
    assert await _named(db, "snapshot", read) == account
    # It leaves no transaction open behind it: a write after it goes through.
    async with db.transaction() as tx:
        await AccountRepository(tx).add(
            Account(id="acct_after", name="after", created_at=datetime.now(UTC))
        )
    assert await _named(db, "after", read) is not None


async def test_reads_run_side_by_side(db: Database) -> None:
    async with db.read() as first:
        assert await AccountRepository(first).count() == await asyncio.wait_for(_count(db), _HANG)


async def _count(db: Database) -> int:
    async with db.read() as tx:
        return await AccountRepository(tx).count()


@pytest.mark.parametrize("database_template", ["postgres"], indirect=True)
async def test_a_pooled_connection_the_server_closed_is_replaced_before_use(db: Database) -> None:
    async with db.single_read() as tx:
        pooled = (await tx.conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    # As a server restart does to every connection: the server closes this one (from a
    # connection of its own, outside the pool).
    admin = await asyncpg.connect(asyncpg_dsn(db.engine))
    try:
        # With a timeout it returns once the backend has exited (its socket closed), not
        # when the signal is sent: the driver's reader has the close before the next checkout.
        terminated = await admin.fetchval(
            "SELECT pg_terminate_backend($1, $2)", pooled, _HANG * 1000
        )
        assert terminated is True
    finally:
        await admin.close()
    for _ in range(2):  # the next read and the next write both succeed, on a new connection
        async with db.single_read() as tx:
            assert await AccountRepository(tx).count() == 0
        async with db.transaction() as tx:
            assert await AccountRepository(tx).count() == 0


@pytest.mark.parametrize("database_template", ["sqlite"], indirect=True)
async def test_a_connection_handed_back_inside_a_transaction_releases_the_write_lock(
    db: Database,
) -> None:
    # As a transaction whose end was cut short leaves its connection: open, unknown to
    # SQLAlchemy. Only such a connection is rolled back when handed back (not one that committed).
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        await raw.driver_connection.execute("BEGIN IMMEDIATE")
        assert raw.driver_connection.in_transaction
    assert db.sqlite_path is not None
    other = sqlite3.connect(db.sqlite_path, timeout=0, isolation_level=None)
    try:  # a connection of its own, outside the pool, takes the write lock at once
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()
    async with db.transaction() as tx:  # and so does the pool's next write
        assert await AccountRepository(tx).count() == 0
