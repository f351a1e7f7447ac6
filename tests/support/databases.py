"""Test databases: each test gets its own, as it was right after the migrations.

SQLite: a migrated file copied per test. PostgreSQL: ``CREATE DATABASE … TEMPLATE`` from a
migrated template database costs a checkpoint on DROP (seconds on a busy machine), so each xdist
worker keeps a small pool of clones instead: after a test, its database is emptied (every row
deleted, leftover connections ended) and handed to the next test, once its schema is checked to
still be the template's; a database whose schema a test changed (a downgrade) is dropped instead.
PostgreSQL is used when reachable; with LIVEHOOK_TEST_REQUIRE_POSTGRES=1 (CI) an unreachable
server fails the run instead of skipping.
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

# Everything a test could change in a database's schema, as one digest: relations, columns,
# constraints, indexes, triggers, functions, schemas and the migration revision.
_SCHEMA_DIGEST = """
SELECT md5(string_agg(item, E'\\n' ORDER BY item)) FROM (
    SELECT c.relkind::text || ' ' || c.relnamespace::regnamespace::text || '.' || c.relname AS item
      FROM pg_class c WHERE c.relnamespace NOT IN ('pg_catalog'::regnamespace,
                                                   'information_schema'::regnamespace)
                        AND c.relnamespace::regnamespace::text !~ '^pg_(toast|temp)'
    UNION ALL
    SELECT a.attrelid::regclass::text || '.' || a.attname
           || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text
           || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid)
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    UNION ALL
    SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
    UNION ALL
    SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
    UNION ALL
    SELECT proname || ' ' || md5(prosrc) FROM pg_proc
     WHERE pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
    UNION ALL
    SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname !~ '^pg_(toast_)?temp'
    UNION ALL
    SELECT 'revision ' || version_num FROM alembic_version
) AS schema_items
"""

_OTHER_CONNECTIONS = """
SELECT count(*) FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid()
"""

_DATA_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"


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
    """A migrated template database and this worker's pool of emptied clones of it."""

    def __init__(self) -> None:
        self.admin_url = postgres_admin_url()
        self.name = f"lh_tpl_{uuid.uuid4().hex[:10]}"
        self.schema_digest = ""
        self.data_tables: list[str] = []
        self._free: list[str] = []

    async def _connect(self, database: str | None = None) -> asyncpg.Connection:
        url = self.admin_url if database is None else with_database(self.admin_url, database)
        return await asyncpg.connect(_asyncpg_dsn(url))

    def create(self) -> None:
        async def run() -> None:
            conn = await self._connect()
            try:
                await conn.execute(f'CREATE DATABASE "{self.name}"')
            finally:
                await conn.close()
            await _migrate(with_database(self.admin_url, self.name))
            template = await self._connect(self.name)
            try:
                self.schema_digest = await template.fetchval(_SCHEMA_DIGEST)
                tables = [row[0] for row in await template.fetch(_DATA_TABLES)]
                self.data_tables = [t for t in tables if t != "alembic_version"]
            finally:
                await template.close()

        asyncio.run(run())

    async def clone(self) -> str:
        """A database as the template is: an emptied one from the pool, or a new clone."""
        if self._free:
            return self._free.pop()
        name = f"lh_t_{uuid.uuid4().hex[:12]}"
        conn = await self._connect()
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        finally:
            await conn.close()
        return name

    async def release(self, name: str) -> None:
        """Back to the pool once emptied and its schema unchanged; dropped otherwise."""
        if await self._emptied(name):
            self._free.append(name)
        else:
            await self.drop(name)

    async def _emptied(self, name: str) -> bool:
        try:
            conn = await self._connect(name)
        except (OSError, asyncpg.PostgresError):
            return False
        try:
            # Someone else still connected (a subprocess that outlived its test, a worker not
            # stopped) could write into the next test's rows, or reconnect after being cut off:
            # such a database is retired (dropped WITH FORCE), never handed out again.
            if await conn.fetchval(_OTHER_CONNECTIONS):
                return False
            if await conn.fetchval(_SCHEMA_DIGEST) != self.schema_digest:
                return False
            # Replica mode skips the foreign-key triggers, so the order of the deletes is free.
            deletes = "".join(f'DELETE FROM "{table}";' for table in self.data_tables)
            await conn.execute(f"SET session_replication_role = replica;{deletes}")
            return True
        except asyncpg.PostgresError:
            return False
        finally:
            await conn.close()

    async def drop(self, name: str) -> None:
        conn = await self._connect()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    def destroy(self) -> None:
        async def run() -> None:
            for name in [*self._free, self.name]:
                await self.drop(name)
            self._free.clear()

        asyncio.run(run())


class SqliteTemplate:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "template.db"

    def create(self) -> None:
        asyncio.run(_migrate(f"sqlite:///{self.path}"))

    def clone(self, directory: Path) -> str:
        target = directory / "livehook.db"
        shutil.copyfile(self.path, target)
        return f"sqlite:///{target}"
