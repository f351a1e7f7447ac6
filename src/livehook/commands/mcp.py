"""`livehook mcp`: the MCP tools over stdio, for agent hosts that start tools as processes.

stdout carries the protocol only; every log line and error goes to stderr. The process does not
send deliveries: a `livehook serve` or `livehook worker` on the same database does.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from livehook.config import Settings

KEY_HELP = "The API key the tools act as (its account and scopes)."


def mcp(
    key: Annotated[str, typer.Option(envvar="LIVEHOOK_API_KEY", help=KEY_HELP)],
) -> None:
    """Serve the MCP tools (verify_human_presence, check_verification_status, …) over stdio."""
    import asyncio

    from livehook.config import ConfigError, Settings
    from livehook.logs import configure_logging

    try:
        settings = Settings()
        settings.secret_keys()
    except (ConfigError, ValueError) as exc:
        raise _fail(str(exc)) from None
    configure_logging(settings.log_level, json=True)
    problem = asyncio.run(_serve(settings, key))
    if problem:
        raise _fail(problem)


async def _serve(settings: Settings, key: str) -> str | None:
    """Run until the host closes stdin; a reason to refuse to start, or None."""
    from livehook.composition import build_services

    services = build_services(settings)
    try:
        if settings.is_embedded:
            await services.db.migrate()
        elif await services.db.needs_migration():
            return "the database schema is not up to date: run `livehook migrate` first"
        if await services.keys.authenticate(key) is None:
            return "invalid or revoked API key (set LIVEHOOK_API_KEY or pass --key)"
        # The MCP SDK is most of this command's start-up: a refused key does not wait for it.
        from livehook.mcp_server.access import key_authenticator
        from livehook.mcp_server.server import build_server

        server = build_server(
            services,
            key_authenticator(services.keys, key),
            verification_url=settings.verification_url,
        )
        await server.run_stdio_async()
        return None
    finally:
        await services.db.dispose()


def _fail(message: str) -> typer.Exit:
    print(f"error: {message}", file=sys.stderr)  # noqa: T201  (stdout belongs to the protocol)
    return typer.Exit(1)
