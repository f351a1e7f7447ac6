"""What an operator relies on: readiness that tells the truth, private files, a complete
OpenAPI document."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import httpx
import pytest

from livehook.config import Settings
from tests.support.app import TEST_SECRET_KEY, build_services, create_app
from tests.support.http import data, error


async def test_readyz_is_503_once_the_in_process_worker_has_died(settings: Settings) -> None:
    services = build_services(settings.replace(run_worker=True))
    app = create_app(settings.replace(run_worker=True), services)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        ready = data(await client.get("/readyz"))
        assert ready == {"status": "ok", "database": "ok", "worker": "ok"}
        task = app.state.worker._run_task
        task.cancel()  # as if it had crashed
        with pytest.raises(asyncio.CancelledError):
            await task
        app.state.worker._run_task = None
        body = error(await client.get("/readyz"), 503, "not_ready")
        assert body["details"] == {"database": "ok", "worker": "stopped"}


async def test_readyz_without_a_worker_reports_the_database_only(
    client: httpx.AsyncClient,
) -> None:
    assert data(await client.get("/readyz")) == {"status": "ok", "database": "ok"}


def test_home_and_database_are_private_whatever_the_umask(tmp_path: Path) -> None:
    home = tmp_path / "fresh" / "home"
    settings = Settings(home=home)
    previous = os.umask(0o022)
    try:
        settings.secret_keys()
        services = build_services(settings)
        asyncio.run(_migrate_and_close(services))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "livehook.db").stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "secret.key").stat().st_mode) == 0o600
    for extra in ("livehook.db-wal", "livehook.db-shm"):
        if (home / extra).exists():
            assert stat.S_IMODE((home / extra).stat().st_mode) == 0o600


async def _migrate_and_close(services: object) -> None:
    from livehook.services.registry import Services

    assert isinstance(services, Services)
    await services.db.migrate()
    await services.db.dispose()


def test_a_database_elsewhere_gets_a_private_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'hooks.db'}"
    previous = os.umask(0o022)
    try:
        services = build_services(
            Settings(home=tmp_path / "h", database_url=url, secret_key=TEST_SECRET_KEY)
        )
        asyncio.run(_migrate_and_close(services))
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "data" / "hooks.db").stat().st_mode) == 0o600


async def test_openapi_documents_400_405_503_everywhere_and_409_on_every_write(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    writes = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert {"400", "405", "503"} <= set(responses), (method, path)
            if method in {"post", "patch", "delete"}:
                writes += 1
                assert "409" in responses, (method, path)
                names = {p["name"] for p in operation.get("parameters", [])}
                assert "Idempotency-Key" in names, (method, path)
    assert writes >= 13
