"""The database handle services use: transactions in, repositories over them.

Two kinds of transaction: ``transaction()`` for anything that may write, and ``read()`` for
reads alone. On SQLite a write transaction takes the write lock up front and waits its turn in
this process; a read is a deferred ``BEGIN`` (a WAL snapshot) that runs beside the one writer, so
a busy worker's writes never queue the API's reads. On PostgreSQL both are plain transactions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from livehook.storage.engines import SNAPSHOT_OPTION, STATEMENT_ALONE_OPTION, create_engine
from livehook.storage.errors import translated
from livehook.storage.migrate import migrate, needs_migration


class Transaction:
    """One database transaction; repositories are built over it (``WebhookRepository(tx)``)."""

    __slots__ = ("conn",)

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name


class Database:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Told each transaction's seconds: the metrics' histogram, set by ``composition.py``
        # everywhere but in a one-shot command, which serves no metrics.
        self.observe_transaction: Callable[[float], None] | None = None
        # SQLite lets one transaction in at a time (each takes the write lock up front): queue
        # this process's transactions here, handed over the moment one ends, rather than in
        # SQLite's busy handler, which polls with sleeps of up to 100 ms.
        self._sqlite_turn = asyncio.Lock() if engine.dialect.name == "sqlite" else None
        # The same pool; its connections begin deferred on SQLite (see ``engines.py``).
        self._snapshots = engine.execution_options(**{SNAPSHOT_OPTION: True})
        # A statement alone: SQLite's connections already leave transactions to SQLAlchemy
        # (``engines.py``), so only the BEGIN is skipped there; AUTOCOMMIT on PostgreSQL.
        self._autocommit = engine.execution_options(
            **(
                {STATEMENT_ALONE_OPTION: True}
                if engine.dialect.name == "sqlite"
                else {"isolation_level": "AUTOCOMMIT"}
            )
        )

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 10, pre_ping: bool = True) -> Database:
        return cls(create_engine(url, pool_size=pool_size, pre_ping=pre_ping))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def sqlite_path(self) -> str | None:
        """The SQLite file, if this is one (not an in-memory database)."""
        if self.dialect != "sqlite":
            return None
        path = self.engine.url.database
        return path if path and path != ":memory:" else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """Commit on success, roll back on any exception. The database's refusals leave as
        ``ValueRefused`` or ``DatabaseUnavailable`` (see ``storage.errors``)."""
        async with self._guarded():
            if self._sqlite_turn is None:
                async with self.engine.begin() as conn:
                    yield Transaction(conn)
                return
            async with self._sqlite_turn, self.engine.begin() as conn:
                yield Transaction(conn)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Transaction]:
        """A transaction that only reads: one consistent snapshot, outside SQLite's write queue.
        Nothing in it may write (on SQLite a write here could fail with SQLITE_BUSY)."""
        async with self._guarded(), self._snapshots.begin() as conn:
            yield Transaction(conn)

    @asynccontextmanager
    async def single_read(self) -> AsyncIterator[Transaction]:
        """One read statement with no transaction around it: a statement alone already reads
        one consistent snapshot, and on PostgreSQL it saves the BEGIN and COMMIT round trips
        (the API's key lookup, on every request). More than one statement needs ``read()``."""
        async with self._guarded(), self._autocommit.connect() as conn:
            yield Transaction(conn)

    @asynccontextmanager
    async def _guarded(self) -> AsyncIterator[None]:
        started = time.perf_counter()
        try:
            yield
        except (SQLAlchemyError, OSError, OverflowError) as exc:
            storage_error = translated(exc)
            if storage_error is None:
                raise
            raise storage_error from exc
        finally:
            if self.observe_transaction is not None:
                self.observe_transaction(time.perf_counter() - started)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError):
            return False
        return True

    async def migrate(self) -> None:
        await migrate(self.engine)

    async def needs_migration(self) -> bool:
        return await needs_migration(self.engine)

    async def dispose(self) -> None:
        await self.engine.dispose()
