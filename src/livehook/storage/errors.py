"""What a database's refusal means to the layers above, without SQLAlchemy in their imports.

StorageError
├── ValueRefused          the database cannot hold a value it was given (SQLSTATE class 22:
│                         a NUL character, a number out of range, …): the request's fault
└── DatabaseUnavailable   the database does not answer (refused, dropped, timed out): retry later
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError


class StorageError(Exception):
    pass


class ValueRefused(StorageError):
    """A value the database cannot store; the message names no value (it could be a secret)."""


class DatabaseUnavailable(StorageError):
    pass


def translated(exc: BaseException) -> StorageError | None:
    """The StorageError for a database driver's exception, or None to let it through."""
    if isinstance(exc, DBAPIError):
        if _sqlstate(exc).startswith("22") or isinstance(exc.orig, sqlite3.DataError):
            return ValueRefused("the database cannot store a value of this request")
        if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
            return DatabaseUnavailable("the database is unavailable")
        return None
    if isinstance(exc, PoolTimeoutError | OSError | ConnectionError):
        return DatabaseUnavailable("the database is unavailable")
    if isinstance(exc, OverflowError):  # SQLite's driver binding an integer beyond 64 bits
        return ValueRefused("the database cannot store a value of this request")
    return None


def _sqlstate(exc: DBAPIError) -> str:
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code if isinstance(code, str) else ""
