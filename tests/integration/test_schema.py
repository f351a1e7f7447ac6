"""The migrations produce exactly the schema declared in storage/tables.py."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from livehook.storage.database import Database
from livehook.storage.tables import PARTIAL, deliveries, metadata


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


def _bare(predicate: str) -> str:
    """A predicate as either database prints it, without PostgreSQL's casts and parentheses."""
    return " ".join(predicate.replace("::text", "").replace("(", "").replace(")", "").split())


async def test_partial_indexes_have_the_declared_predicate(db: Database) -> None:
    """tables.py keeps a partial index's predicate in `info` (see there): the migrated index
    must be partial with that predicate, on both databases."""
    partial = {ix.name: ix.info[PARTIAL] for ix in deliveries.indexes if PARTIAL in ix.info}
    assert set(partial) == {"ix_deliveries_due", "ix_deliveries_unpruned"}
    if db.dialect == "postgresql":
        query = text("SELECT indexdef FROM pg_indexes WHERE indexname = :name")
    else:
        query = text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name")
    async with db.read() as tx:
        for name, predicate in partial.items():
            definition = (await tx.conn.execute(query, {"name": name})).scalar_one()
            assert _bare(definition).endswith(f"WHERE {_bare(predicate)}"), definition
