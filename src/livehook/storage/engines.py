"""Engines for SQLite (embedded) and PostgreSQL, from plain URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from livehook.constants import SQLITE_BUSY_TIMEOUT_MS
from livehook.files import create_private_file

# An execution option naming a read-only transaction: on SQLite it begins deferred (a WAL
# snapshot beside the writer) instead of taking the write lock with BEGIN IMMEDIATE.
SNAPSHOT_OPTION = "livehook_snapshot"


class DatabaseURLError(ValueError):
    pass


def async_url(url: str) -> str:
    """Accept the URLs people write (`sqlite:///x.db`, `postgresql://…`) and pick the driver."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with a terse message
        raise DatabaseURLError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise DatabaseURLError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


def create_engine(url: str, *, pool_size: int = 10, pre_ping: bool = True) -> AsyncEngine:
    """``pre_ping``: check each pooled PostgreSQL connection (a round trip) before handing it
    out, so a server restart costs no failed request."""
    full = async_url(url)
    if full.startswith("sqlite"):
        return _sqlite_engine(full)
    return create_async_engine(
        full,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=pre_ping,
        hide_parameters=True,  # an error's text (and so a log line) never shows a value
    )


def _sqlite_engine(url: str) -> AsyncEngine:
    database = make_url(url).database
    if database and database != ":memory:":
        create_private_file(Path(database).expanduser())
    engine = create_async_engine(
        url, pool_size=5, max_overflow=5, connect_args={"timeout": 30}, hide_parameters=True
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy own transactions: aiosqlite's implicit BEGIN breaks BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoints
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        # A write transaction takes the write lock up front: a deferred transaction that later
        # writes can fail with SQLITE_BUSY instead of waiting, since SQLite cannot upgrade a read
        # lock safely. A read-only one begins deferred, so it never waits for the writer (WAL).
        if conn.get_execution_options().get(SNAPSHOT_OPTION):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
