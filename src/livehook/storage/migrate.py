"""Apply Alembic migrations to an async engine, loading Alembic only when one is due.

Every command on SQLite migrates first, so asking Alembic each time cost every command Alembic's
import (a large part of `livehook keys list`'s start). Instead one query reads the stored
revision and compares it with ``head_revision()``, read from the migrations' file names; Alembic
runs only when they differ.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default, which `migrations/env.py` keeps


@cache
def head_revision() -> str:
    """The newest migration's revision: each is a file named by its revision, numbered in
    order (`versions/0004_event_trace_context.py` is revision "0004", after "0003").
    `tests/unit/test_migration_head.py` holds this to Alembic's own head."""
    versions = (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py")
    return max(path.name.partition("_")[0] for path in versions)


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


async def stored_revisions(engine: AsyncEngine) -> set[str]:
    """The revisions the database says it is at (Alembic's table); none before the first."""
    async with engine.connect() as conn:
        # Looked up as Alembic looks it up: in the connection's default schema.
        if not await conn.run_sync(lambda sync: inspect(sync).has_table(VERSION_TABLE)):
            return set()
        rows = await conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        return {row[0] for row in rows}


async def needs_migration(engine: AsyncEngine) -> bool:
    return await stored_revisions(engine) != {head_revision()}


async def migrate(engine: AsyncEngine) -> None:
    if not await needs_migration(engine):
        return
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)
