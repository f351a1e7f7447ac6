"""Fixtures shared by every test: a fresh database per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from livehook.api.app import build_services, create_app
from livehook.config import Settings
from livehook.services.registry import Services
from livehook.storage.database import Database
from tests.support.databases import (
    PostgresTemplate,
    SqliteTemplate,
    postgres_reachable,
    postgres_required,
    with_database,
)

TEST_SECRET_KEY = "test-secret-key-0123456789abcdef"


DatabaseTemplate = SqliteTemplate | PostgresTemplate


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_template(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseTemplate]:
    """A migrated template per database, made once per run."""
    if request.param == "sqlite":
        sqlite = SqliteTemplate(tmp_path_factory.mktemp("sqlite-template"))
        sqlite.create()
        yield sqlite
        return
    problem = postgres_reachable()
    if problem is not None:
        if postgres_required():
            pytest.fail(f"PostgreSQL is required (LIVEHOOK_TEST_REQUIRE_POSTGRES) but: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    postgres = PostgresTemplate()
    postgres.create()
    yield postgres
    postgres.destroy()


@pytest.fixture
async def database_url(database_template: DatabaseTemplate, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated database of this test's own."""
    if isinstance(database_template, SqliteTemplate):
        yield database_template.clone(tmp_path)
        return
    name = await database_template.clone()
    try:
        yield with_database(database_template.admin_url, name)
    finally:
        await database_template.drop(name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        allow_local_urls=True,
        run_worker=False,
    )


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    built = build_services(settings)
    try:
        yield built
    finally:
        await built.db.dispose()


@pytest.fixture
def db(services: Services) -> Database:
    return services.db


@pytest.fixture
async def client(settings: Settings, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the real app in-process (no network)."""
    app = create_app(settings, services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://livehook.test") as c:
        yield c


@pytest.fixture
async def full_key(services: Services) -> str:
    """A full-access API key of the account ``acme``."""
    return (await services.keys.create(account_name="acme", name="admin")).plaintext
