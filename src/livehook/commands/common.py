"""What the commands share: settings and services from the composition root, a clean exit on
an error, the key that says whose, JSON out, whole ids.

Nothing heavy at module level: `livehook --help` imports this module, so SQLAlchemy, the
services and the settings are imported when a command first needs them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Column

if TYPE_CHECKING:
    from livehook.config import Settings
    from livehook.domain.accounts import Principal
    from livehook.services.registry import Services

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)

KeyOption = Annotated[
    str,
    typer.Option(envvar="LIVEHOOK_API_KEY", help="API key whose account to act for."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def load_settings() -> Settings:
    """The settings from the environment; one that cannot work is a clean exit naming it."""
    from livehook.config import ConfigError, Settings

    try:
        return Settings()
    except (ConfigError, ValueError) as exc:
        raise fail(str(exc)) from None


def with_services(
    work: Callable[[Services], Awaitable[T]],
    *,
    migrate: bool = False,
    pre_ping: bool = True,
    fast_loop: bool = False,
) -> T:
    """Build the services, run ``work``, dispose of the engine; errors become clean exits.
    ``fast_loop``: on uvloop when installed (a long-running command; a quick one need not load
    it)."""
    import asyncio

    from livehook import loops
    from livehook.composition import build_services
    from livehook.config import ConfigError
    from livehook.services.errors import ServiceError

    async def run() -> T:
        try:
            services = build_services(load_settings(), pre_ping=pre_ping, transaction_metrics=False)
        except (ConfigError, ValueError) as exc:
            raise fail(str(exc)) from None
        try:
            if migrate or services.db.dialect == "sqlite":
                await services.db.migrate()
            return await work(services)
        finally:
            await services.db.dispose()

    try:
        return loops.run(run()) if fast_loop else asyncio.run(run())
    except ServiceError as exc:
        raise fail(exc.message) from None


def redacted_database_url(settings: Settings) -> str:
    """The database URL with its password hidden: fit for a terminal or a log line."""
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


async def principal_of(services: Services, key: str, scope: str) -> Principal:
    principal = await services.keys.authenticate(key)
    if principal is None:
        raise fail("invalid or revoked API key")
    if not principal.allows(scope):
        raise fail(f"this API key lacks the `{scope}` scope")
    return principal


def print_json(value: Any) -> None:
    """Machine-readable output: stdout, unstyled, one document."""
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def id_column(header: str, ids: list[str]) -> Column:
    """A column that never truncates nor wraps an id: they are meant to be copied."""
    return Column(header, no_wrap=True, min_width=max((len(i) for i in ids), default=len(header)))
