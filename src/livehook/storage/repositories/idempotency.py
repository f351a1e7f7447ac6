"""Idempotency keys: the first answer to a keyed request, kept to replay it.

A key is claimed by inserting its row before the work is done, in the work's transaction. A
concurrent request with the same key waits on the primary key until the first one ends: if it
committed, the insert does nothing and the stored answer is read; if it rolled back, the insert
goes through and the second request does the work itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from livehook.storage.database import Database, Transaction
from livehook.storage.tables import idempotency_keys

_CLAIMED = 0  # status_code of a row whose request is still running (never seen by others)

# How long a key and its answer are kept: far beyond any client's retry window (Stripe: 24 h).
KEY_TTL = timedelta(hours=24)
# Keys forgotten per transaction: short transactions that never hold up a write for long.
PRUNE_BATCH = 1000


@dataclass(frozen=True, slots=True)
class StoredKey:
    request_fingerprint: str
    status_code: int
    response_body: str
    created_at: datetime


class IdempotencyRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def claim(self, account_id: str, key: str, fingerprint: str, now: datetime) -> bool:
        """True if this transaction now owns ``key``; False if a committed row holds it."""
        insert = _pg_insert() if self._tx.dialect == "postgresql" else sqlite_insert
        stmt = (
            insert(idempotency_keys)
            .values(
                account_id=account_id,
                key=key,
                request_fingerprint=fingerprint,
                status_code=_CLAIMED,
                response_body="",
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["account_id", "key"])
        )
        result = await self._tx.conn.execute(stmt)
        return bool(result.rowcount)

    async def get(self, account_id: str, key: str) -> StoredKey | None:
        query = select(idempotency_keys).where(
            idempotency_keys.c.account_id == account_id, idempotency_keys.c.key == key
        )
        row = (await self._tx.conn.execute(query)).first()
        if row is None:
            return None
        return StoredKey(
            row.request_fingerprint, row.status_code, row.response_body, row.created_at
        )

    async def complete(self, account_id: str, key: str, status_code: int, body: str) -> None:
        await self._tx.conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.account_id == account_id, idempotency_keys.c.key == key)
            .values(status_code=status_code, response_body=body)
        )

    async def prune(self, before: datetime, *, limit: int = 1000) -> int:
        """Forget up to ``limit`` keys created before ``before``; returns how many."""
        oldest = (
            select(idempotency_keys.c.account_id, idempotency_keys.c.key)
            .where(idempotency_keys.c.created_at < before)
            .limit(limit)
        )
        columns = tuple_(idempotency_keys.c.account_id, idempotency_keys.c.key)
        result = await self._tx.conn.execute(delete(idempotency_keys).where(columns.in_(oldest)))
        return int(result.rowcount)


def _pg_insert() -> Any:
    # Imported when used: PostgreSQL's dialect costs a command on SQLite about 35 ms of CPU to
    # load; on PostgreSQL its driver has loaded it already, so this is a dictionary lookup.
    from sqlalchemy.dialects.postgresql import insert

    return insert


async def prune_keys(db: Database, *, now: datetime, batch_size: int = PRUNE_BATCH) -> int:
    """Forget keys older than ``KEY_TTL``, a batch per transaction; returns how many."""
    total = 0
    while True:
        async with db.transaction() as tx:
            pruned = await IdempotencyRepository(tx).prune(now - KEY_TTL, limit=batch_size)
        total += pruned
        if pruned < batch_size:
            return total
