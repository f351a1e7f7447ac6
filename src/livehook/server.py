"""`livehook serve`: prepare the database, greet a new user, run uvicorn."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import structlog
import uvicorn
from rich.console import Console
from rich.panel import Panel

from livehook.commands.common import redacted_database_url
from livehook.composition import build_app, build_services, worker_processes
from livehook.config import SECRET_KEY_FILE, Settings
from livehook.logs import configure_logging
from livehook.loops import uvicorn_choices
from livehook.portal.welcome import print_sign_in_link
from livehook.services.registry import Services
from livehook.sockets import bind_tcp
from livehook.tracing import configure_tracing
from livehook.worker_processes import WorkerProcesses

if TYPE_CHECKING:
    from fastapi import FastAPI

log = structlog.get_logger(__name__)


class NotMigratedError(RuntimeError):
    pass


async def prepare(
    services: Services, settings: Settings, console: Console, base_url: str = ""
) -> None:
    """Migrate the embedded database; on PostgreSQL, insist on `livehook migrate`."""
    if settings.is_embedded:
        await services.db.migrate()
        if not settings.secret_key:
            log.warning(
                "signing secrets are encrypted with a generated key; back it up, and set "
                "LIVEHOOK_SECRET_KEY in production",
                key_file=str(settings.home / SECRET_KEY_FILE),
            )
        if not await _has_full_access_key(services):
            created = await services.keys.create(account_name="default", name="default")
            _greet(console, created.plaintext, settings, created.callback_secret)
            await print_sign_in_link(console, services, created.account.id, base_url)
    elif await services.db.needs_migration():
        raise NotMigratedError(
            "the database schema is not up to date: run `livehook migrate` first"
        )


async def _has_full_access_key(services: Services) -> bool:
    """Whether a full-access key (no scopes) was ever made here, revoked or not: a database
    without one greets its first start with one, even if scoped keys were made before."""
    after: str | None = None
    while True:
        page = await services.keys.list_page(after=after, limit=500)
        if any(not key.scopes for key in page):
            return True
        if len(page) < 500:
            return False
        after = page[-1].id


def _greet(console: Console, key: str, settings: Settings, callback_secret: str) -> None:
    if not console.is_terminal:
        # A log file or a container's log keeps what it is given: no secret goes there.
        console.print(
            "A [bold]default[/] account was created. Its first key is shown only on a terminal; "
            "make one with `livehook keys create --account default`."
        )
        return
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


async def _prepare_once(settings: Settings, console: Console, base_url: str) -> None:
    services = build_services(settings)
    try:
        await prepare(services, settings, console, base_url)
    finally:
        await services.db.dispose()


def run_server(settings: Settings, *, host: str, port: int, console: Console) -> None:
    configure_logging(settings.log_level)
    configure_tracing()
    try:
        # Bound before anything is printed or created: a taken port fails at once, plainly.
        sock = bind_tcp(host, port)
    except OSError as exc:
        console.print(
            f"[bold red]error:[/] cannot listen on {host}:{port}: {exc.strerror or exc}. "
            "Is another `livehook serve` running? Choose another port with --port."
        )
        raise SystemExit(1) from None
    base = f"http://{host}:{port}"
    try:
        asyncio.run(_prepare_once(settings, console, base))
    except NotMigratedError as exc:
        sock.close()
        console.print(f"[bold red]error:[/] {exc}")
        raise SystemExit(1) from None
    console.print(
        f"livehook listening on [bold]{base}[/]  ·  API docs [bold]{base}/docs[/]  ·  "
        f"OpenAPI [bold]{base}/openapi.json[/]"
    )
    _describe_setup(console, settings)
    # Built afresh: the start-up loop has closed, and nothing opened on it (a pooled
    # connection, a lock) may be used on the server's loop.
    processes = worker_processes(settings)
    # With worker processes, serve's own worker keeps only the `livehook listen` deliveries,
    # whose sockets live here; the processes claim every other one.
    app = build_app(
        settings,
        build_services(settings),
        worker_targets="listen_only" if processes else "all",
    )
    if processes:
        _run_beside(app, WorkerProcesses(processes))
    loop, http = uvicorn_choices()  # uvloop and httptools when installed
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,  # livehook writes its own access line, with the request id
        log_config=None,  # uvicorn's lines go through livehook's logging set-up
        lifespan="on",
        loop=loop,
        http=http,
    )
    server = uvicorn.Server(config)
    # The app and its imports live as long as the process: out of the collector's passes
    # (measured on the worker: 6-13 % less CPU per delivery).
    gc.freeze()
    server.run(sockets=[sock])


def _run_beside(app: FastAPI, children: WorkerProcesses) -> None:
    """Start ``children`` with the app's lifespan and stop them with it: inside uvicorn's
    shutdown, before it re-raises the signal that stopped it."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        children.start()
        try:
            async with inner(app):
                yield
        finally:
            await children.stop()

    app.router.lifespan_context = lifespan


def _describe_setup(console: Console, settings: Settings) -> None:
    """What a person starting the server needs to know before the first request."""
    processes = worker_processes(settings)
    if not settings.run_worker:
        worker = "off (LIVEHOOK_RUN_WORKER=false): run `livehook worker` to send"
    elif processes:
        worker = f"runs in {processes} process{'es' if processes > 1 else ''} beside the API"
    else:
        worker = "runs in this process"
    local = (
        "allowed (LIVEHOOK_ALLOW_LOCAL_URLS=true: development only)"
        if settings.allow_local_urls
        else "refused (LIVEHOOK_ALLOW_LOCAL_URLS=true allows them; `livehook listen` needs none)"
    )
    console.print(
        f"database [bold]{redacted_database_url(settings)}[/]\n"
        f"delivery worker {worker}\n"
        f"http:// and local webhook URLs {local}"
    )
