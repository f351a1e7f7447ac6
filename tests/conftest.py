"""Fixtures shared by every test: a database per test on SQLite and on PostgreSQL, the app on
it, an account, a local receiver and a worker on a fake clock. Helpers live in tests/support."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from livehook.config import Settings
from livehook.services.registry import Services
from livehook.storage.database import Database
from tests.support.app import in_process_client, running_services, settings_for
from tests.support.databases import (
    PostgresTemplate,
    SqliteTemplate,
    postgres_reachable,
    postgres_required,
    with_database,
)
from tests.support.deliveries import FakeClock, TestAccount, WorkerFactory, new_account
from tests.support.dns import offline_dns
from tests.support.receivers import Receiver, running_receiver

DatabaseTemplate = SqliteTemplate | PostgresTemplate


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers per core. Much of the suite waits on subprocesses (`serve`, the
    CLI, a browser) rather than computing, so a core has room for a second worker meanwhile.
    Each worker makes its own template databases and every test its own copy (databases.py)."""
    return 2 * len(os.sched_getaffinity(0))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`--dist loadgroup` sends the tests of one ``xdist_group`` to one worker by a suffix on
    their node ids (``…@group``). pytest-xdist 3.8 writes it to ``item._nodeid``, which pytest 9
    no longer reads (a node id is ``item._id`` now): every group was spread over all workers,
    each starting the module's shared `serve` (and Chromium) again. The suffix, where it counts."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        names = sorted(
            {
                str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                for m in item.iter_markers("xdist_group")
            }
        )
        suffix = "@" + "_".join(names)
        if names and hasattr(item, "_id") and not item.nodeid.endswith(suffix):
            item._id = type(item._id).parse(item.nodeid + suffix)


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
        await database_template.release(name)


@pytest.fixture(scope="module")
def module_database_url(
    database_template: DatabaseTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database shared by one module's tests: for a module that runs one `livehook
    serve` for all its tests (a start costs seconds), each test keeping to accounts of its own."""
    if isinstance(database_template, SqliteTemplate):
        yield database_template.clone(tmp_path_factory.mktemp("module-db"))
        return
    name = asyncio.run(database_template.clone())
    try:
        yield with_database(database_template.admin_url, name)
    finally:
        asyncio.run(database_template.release(name))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return settings_for(tmp_path / "home", database_url)


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    async with running_services(settings) as built:
        yield built


@pytest.fixture
def db(services: Services) -> Database:
    return services.db


@pytest.fixture
async def client(settings: Settings, services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the real app in-process (no network)."""
    async with in_process_client(settings, services) as c:
        yield c


@pytest.fixture
async def full_key(services: Services) -> str:
    """A full-access API key of the account ``acme``."""
    return (await services.keys.create(account_name="acme", name="admin")).plaintext


@pytest.fixture
async def account(services: Services) -> TestAccount:
    """The account ``acme``, its principal and its key, written through the services."""
    return await new_account(services)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A webhook receiver on 127.0.0.1 that records what arrives (see support/receivers.py)."""
    async with running_receiver() as running:
        yield running


@pytest.fixture
async def make_worker(services: Services) -> AsyncIterator[WorkerFactory]:
    """Workers on this test's services, each on the clock it is given; closed after."""
    factory = WorkerFactory(services)
    yield factory
    await factory.close()


@pytest.fixture
def clock() -> FakeClock:
    # A minute ahead of the API's clock: what the API queues now is due for the worker.
    return FakeClock(datetime.now(UTC) + timedelta(minutes=1))


@pytest.fixture
async def no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hostnames do not resolve (as offline): registration accepts them; IPs pass through.
    A test module that registers made-up hosts says `pytestmark = usefixtures("no_dns")`."""
    offline_dns(monkeypatch)
