"""`livehook serve`: prepare the database, greet a new user, run uvicorn."""

from __future__ import annotations

import asyncio
import gc

import structlog
import uvicorn
from rich.console import Console
from rich.panel import Panel

from livehook.api.app import build_services, create_app
from livehook.config import SECRET_KEY_FILE, Settings
from livehook.logs import configure_logging
from livehook.services.registry import Services

log = structlog.get_logger(__name__)


class NotMigratedError(RuntimeError):
    pass


async def prepare(services: Services, settings: Settings, console: Console) -> None:
    """Migrate the embedded database; on PostgreSQL, insist on `livehook migrate`."""
    if settings.is_embedded:
        await services.db.migrate()
        if not settings.secret_key:
            log.warning(
                "signing secrets are encrypted with a generated key; back it up, and set "
                "LIVEHOOK_SECRET_KEY in production",
                key_file=str(settings.home / SECRET_KEY_FILE),
            )
        if not await services.keys.has_any_account():
            created = await services.keys.create(account_name="default", name="default")
            _greet(console, created.plaintext, settings, created.callback_secret)
    elif await services.db.needs_migration():
        raise NotMigratedError(
            "the database schema is not up to date: run `livehook migrate` first"
        )


def _greet(console: Console, key: str, settings: Settings, callback_secret: str) -> None:
    console.print(
        Panel.fit(
            f"A [bold]default[/] account was created with one full-access API key:\n\n"
            f"  [bold green]{key}[/]\n\n"
            f"Its callback secret (verifies the callbacks of its sessions):\n\n"
            f"  [bold green]{callback_secret}[/]\n\n"
            "Both are shown once: store them now. Make more with `livehook keys create`.\n"
            f"Data directory: {settings.home}",
            title="Welcome to livehook",
            border_style="green",
        )
    )


def run_server(settings: Settings, *, host: str, port: int, console: Console) -> None:
    configure_logging(settings.log_level)
    services = build_services(settings)
    try:
        asyncio.run(prepare(services, settings, console))
    except NotMigratedError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise SystemExit(1) from None
    base = f"http://{host}:{port}"
    console.print(
        f"livehook listening on [bold]{base}[/]  ·  API docs [bold]{base}/docs[/]  ·  "
        f"OpenAPI [bold]{base}/openapi.json[/]"
    )
    app = create_app(settings, services)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    # The app and its imports live as long as the process: out of the collector's passes
    # (measured on the worker: 6-13 % less CPU per delivery).
    gc.freeze()
    server.run()
