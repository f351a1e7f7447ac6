"""A database behind the code's schema is migrated (and told so); one at the head is left alone
without asking Alembic, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from sqlalchemy import text

from livehook.storage.database import Database
from livehook.storage.migrate import alembic_config, head_revision, stored_revisions


def _downgrade_to(revision: str) -> Any:
    def run(connection: Any) -> None:
        command.downgrade(alembic_config(connection), revision)

    return run


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: sync.dialect.get_table_names(sync)))


async def test_a_migrated_database_is_at_the_head(db: Database) -> None:
    assert await stored_revisions(db.engine) == {head_revision()}
    assert await db.needs_migration() is False
    await db.migrate()  # nothing to do
    assert await stored_revisions(db.engine) == {head_revision()}


@pytest.mark.parametrize("revision", ["0003", "base"])
async def test_a_database_behind_is_migrated_to_the_head(db: Database, revision: str) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(_downgrade_to(revision))
    assert await db.needs_migration() is True
    await db.migrate()
    assert await stored_revisions(db.engine) == {head_revision()}
    assert await db.needs_migration() is False
    assert {"sessions", "events", "deliveries", "webhooks"} <= await _tables(db)


async def test_a_database_never_migrated_is_migrated(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(_downgrade_to("base"))
        await conn.execute(text("DROP TABLE alembic_version"))
    assert await stored_revisions(db.engine) == set()
    assert await db.needs_migration() is True
    await db.migrate()
    assert await stored_revisions(db.engine) == {head_revision()}
    assert "deliveries" in await _tables(db)
