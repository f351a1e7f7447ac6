"""The test databases themselves: a database handed back to the pool comes out empty, and one
whose schema a test changed, or that someone is still connected to, is never handed out again."""

from __future__ import annotations

import asyncpg
import pytest

from tests.support.databases import PostgresTemplate, with_database

pytestmark = pytest.mark.parametrize("database_template", ["postgres"], indirect=True)


async def _execute(template: PostgresTemplate, name: str, sql: str) -> object:
    conn = await asyncpg.connect(with_database(template.admin_url, name))
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def test_a_reused_database_comes_back_empty(database_template: PostgresTemplate) -> None:
    name = await database_template.clone()
    await _execute(
        database_template,
        name,
        "INSERT INTO accounts (id, name, created_at) VALUES ('acct_x', 'x', now())",
    )
    await database_template.release(name)
    again = await database_template.clone()
    try:
        assert again == name
        assert await _execute(database_template, again, "SELECT count(*) FROM accounts") == 0
    finally:
        await database_template.release(again)


async def test_a_database_still_connected_to_is_retired(
    database_template: PostgresTemplate,
) -> None:
    # A process that outlived its test (a worker not stopped, a killed subprocess's pool) must
    # never write into the next test's rows: its database is dropped, not reused.
    name = await database_template.clone()
    leftover = await asyncpg.connect(with_database(database_template.admin_url, name))
    await database_template.release(name)
    assert leftover.is_closed() or not await _still_answers(leftover)
    again = await database_template.clone()
    try:
        assert again != name
        gone = f"SELECT count(*) FROM pg_database WHERE datname = '{name}'"
        assert await _execute(database_template, again, gone) == 0
    finally:
        await database_template.release(again)


async def test_a_database_whose_schema_changed_is_dropped(
    database_template: PostgresTemplate,
) -> None:
    name = await database_template.clone()
    await _execute(database_template, name, "ALTER TABLE accounts ADD COLUMN extra text")
    await database_template.release(name)
    again = await database_template.clone()
    try:
        assert again != name
        columns = "SELECT count(*) FROM information_schema.columns WHERE column_name = 'extra'"
        assert await _execute(database_template, again, columns) == 0
        gone = f"SELECT count(*) FROM pg_database WHERE datname = '{name}'"
        assert await _execute(database_template, again, gone) == 0
    finally:
        await database_template.release(again)


async def _still_answers(conn: asyncpg.Connection) -> bool:
    try:
        await conn.fetchval("SELECT 1")
    except (asyncpg.PostgresError, OSError, asyncpg.InterfaceError):
        return False
    finally:
        await conn.close()
    return True
