"""Engines for SQLite (embedded) and PostgreSQL, from plain URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from livehook.constants import SQLITE_BUSY_TIMEOUT_MS
from livehook.files import create_private_file

# An execution option naming a read-only transaction: on SQLite it begins deferred (a WAL
# snapshot beside the writer) instead of taking the write lock with BEGIN IMMEDIATE.
SNAPSHOT_OPTION = "livehook_snapshot"
# An execution option naming a statement alone on SQLite (``Database.single_read``): no BEGIN.
# PostgreSQL's AUTOCOMMIT does this there; on aiosqlite, AUTOCOMMIT would set the isolation
# level at checkout and reset it at return, three thread hops of the six such a read takes.
STATEMENT_ALONE_OPTION = "livehook_statement_alone"


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
    """``pre_ping``: replace a pooled PostgreSQL connection the server has closed before
    handing it out, so a server restart costs no failed request."""
    full = async_url(url)
    if full.startswith("sqlite"):
        return _sqlite_engine(full)
    engine = create_async_engine(
        full,
        pool_size=pool_size,
        max_overflow=pool_size,
        hide_parameters=True,  # an error's text (and so a log line) never shows a value
    )
    if pre_ping:
        # Not SQLAlchemy's pool_pre_ping: on asyncpg it costs three round trips per checkout
        # (BEGIN, a query, ROLLBACK), two checkouts per API call. A server that restarts or
        # drops a connection closes its socket, which asyncpg's reader sees at once, so the
        # driver's own state says whether the connection is still there, for no round trip.
        event.listen(engine.sync_engine, "checkout", _replace_if_closed)
    return engine


def _replace_if_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")  # the pool reconnects


def _sqlite_engine(url: str) -> AsyncEngine:
    database = make_url(url).database
    if database and database != ":memory:":
        create_private_file(Path(database).expanduser())
    engine = create_async_engine(
        url, pool_size=5, max_overflow=5, connect_args={"timeout": 30}, hide_parameters=True
    )
    rollback = engine.dialect.do_rollback

    def _rollback_if_open(connection: Any) -> None:
        # SQLAlchemy rolls back every connection handed back to the pool, even one whose
        # transaction just committed, and closes a statement alone (Database.single_read) with
        # a rollback: a hop to aiosqlite's thread for nothing, since sqlite3's rollback()
        # outside a transaction does nothing. One still inside a transaction (its end cut
        # short) is rolled back, or it would keep SQLite's write lock from everyone else.
        if _in_transaction(connection):
            rollback(connection)

    engine.dialect.do_rollback = _rollback_if_open  # type: ignore[method-assign,assignment]

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
        options = conn.get_execution_options()
        if options.get(STATEMENT_ALONE_OPTION) or options.get("isolation_level") == "AUTOCOMMIT":
            return  # a statement alone (Database.single_read): no transaction around it
        if options.get(SNAPSHOT_OPTION):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _in_transaction(connection: Any) -> bool:
    """Whether a pooled SQLite connection is inside a transaction; True when it cannot tell."""
    try:
        return bool(connection.driver_connection.in_transaction)
    except (AttributeError, ValueError):  # not a pooled one, or closed: SQLAlchemy sees to it
        return True
