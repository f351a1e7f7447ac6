"""Test databases: each test gets its own, cloned from a migrated template.

SQLite: a migrated file copied per test. PostgreSQL: ``CREATE DATABASE … TEMPLATE`` from a
migrated template database, dropped after the test. PostgreSQL is used when reachable; with
LIVEHOOK_TEST_REQUIRE_POSTGRES=1 (CI) an unreachable server fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from livehook.storage.database import Database

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def postgres_admin_url() -> str:
    return os.environ.get("LIVEHOOK_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def postgres_required() -> bool:
    return os.environ.get("LIVEHOOK_TEST_REQUIRE_POSTGRES", "") not in ("", "0", "false")


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def _migrate(url: str) -> None:
    db = Database.from_url(url)
    try:
        await db.migrate()
    finally:
        await db.dispose()


def postgres_reachable() -> str | None:
    """None when reachable, else why not."""

    async def probe() -> None:
        conn = await asyncpg.connect(_asyncpg_dsn(postgres_admin_url()), timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:  # any failure to connect means "unreachable", with its reason
        return f"{type(exc).__name__}: {exc}"
    return None


class PostgresTemplate:
    def __init__(self) -> None:
        self.admin_url = postgres_admin_url()
        self.name = f"lh_tpl_{uuid.uuid4().hex[:10]}"

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(_asyncpg_dsn(self.admin_url))

    def create(self) -> None:
        async def run() -> None:
            conn = await self._admin()
            try:
                await conn.execute(f'CREATE DATABASE "{self.name}"')
            finally:
                await conn.close()
            await _migrate(with_database(self.admin_url, self.name))

        asyncio.run(run())

    async def clone(self) -> str:
        name = f"lh_t_{uuid.uuid4().hex[:12]}"
        conn = await self._admin()
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        finally:
            await conn.close()
        return name

    async def drop(self, name: str) -> None:
        conn = await self._admin()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    def destroy(self) -> None:
        asyncio.run(self.drop(self.name))


class SqliteTemplate:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.db"

    def create(self) -> None:
        asyncio.run(_migrate(f"sqlite:///{self.path}"))

    def clone(self, directory: Path) -> str:
        target = directory / "livehook.db"
        shutil.copyfile(self.path, target)
        return f"sqlite:///{target}"
