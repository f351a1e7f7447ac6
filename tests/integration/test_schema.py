"""The migrations produce exactly the schema declared in storage/tables.py."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from livehook.storage.database import Database
from livehook.storage.tables import metadata


async def test_migrations_match_declared_schema(db: Database) -> None:
    def diff(sync_conn: Any) -> list[Any]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with db.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


async def test_claim_index_is_partial_on_pending_rows(db: Database) -> None:
    def index_names(sync_conn: Any) -> set[str]:
        return {ix["name"] for ix in inspect(sync_conn).get_indexes("deliveries")}

    async with db.engine.connect() as conn:
        assert "ix_deliveries_due" in await conn.run_sync(index_names)


async def test_migrated_database_needs_no_migration(db: Database) -> None:
    assert await db.needs_migration() is False
