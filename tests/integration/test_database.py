"""The database handle: reads run on their own snapshot, beside an open write."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from livehook.domain.accounts import Account
from livehook.storage.database import Database
from livehook.storage.repositories.accounts import AccountRepository

# Long enough never to trip on a loaded machine; a read queued behind the write never ends.
_HANG = 30


async def _names(db: Database, name: str) -> Account | None:
    async with db.read() as tx:
        return await AccountRepository(tx).by_name(name)


async def test_a_read_runs_while_a_write_is_open_and_sees_only_what_was_committed(
    db: Database,
) -> None:
    account = Account(id="acct_snapshot", name="snapshot", created_at=datetime.now(UTC))
    async with db.transaction() as tx:
        await AccountRepository(tx).add(account)
        # Within the open write (holding SQLite's write lock and this process's turn).
        assert await asyncio.wait_for(_names(db, "snapshot"), _HANG) is None
    assert await _names(db, "snapshot") == account


async def test_reads_run_side_by_side(db: Database) -> None:
    async with db.read() as first:
        assert await AccountRepository(first).count() == await asyncio.wait_for(_count(db), _HANG)


async def _count(db: Database) -> int:
    async with db.read() as tx:
        return await AccountRepository(tx).count()
