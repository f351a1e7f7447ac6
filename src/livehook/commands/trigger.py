"""`livehook trigger`: drive a simulated session to an event and report what became of it.

The deliveries it causes are sent by the running `livehook serve` when there is one on the same
database (it answers for the new session at ``--api-url``), or else by a worker of this process;
either way it waits for them and prints each outcome from the delivery log.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from livehook.domain.listening import NOT_CONNECTED, is_listen_url

if TYPE_CHECKING:
    from livehook.config import Settings
    from livehook.domain.deliveries import Delivery
    from livehook.services.registry import Services

# How long to wait for a running server's worker to attempt every delivery.
SERVER_WAIT_S = 30.0
POLL_S = 0.2
LOCAL_URL_HINT = (
    "local targets need LIVEHOOK_ALLOW_LOCAL_URLS=true on the process that sends "
    "(or use `livehook listen --forward-to`)"
)


def server_has_session(api_url: str, key: str, session_id: str) -> bool:
    """Whether a `livehook serve` at ``api_url`` shares our database (it knows the session)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{api_url.rstrip('/')}/v1/sessions/{session_id}",
        headers={"Authorization": f"Bearer {key}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def describe(delivery: Delivery) -> tuple[bool, str]:
    """(delivered, one readable line) for a delivery's state in the log."""
    target = "livehook listen" if is_listen_url(delivery.target_url) else delivery.target_url
    head = f"{delivery.event_type} → {escape(target)}"
    if delivery.status == "succeeded":
        return True, f"[green]✓[/] {head}  {delivery.last_status_code}  [dim]{delivery.id}[/]"
    if delivery.attempt_count == 0:
        return False, f"[yellow]…[/] {head}  not attempted yet  [dim]{delivery.id}[/]"
    why = (
        f"answered {delivery.last_status_code}"
        if delivery.last_status_code
        else (delivery.last_error or "failed")
    )
    if why.startswith("refused:"):
        why += f" — {LOCAL_URL_HINT}"
    elif why == NOT_CONNECTED:
        why += (
            " — run `livehook listen` against the serve that sends (--api-url or "
            "LIVEHOOK_API_URL); what it missed goes out when it connects"
        )
    state = "failed for good" if delivery.status == "failed" else _retry(delivery.next_attempt_at)
    return False, f"[red]✗[/] {head}  {escape(why)}; {state}  [dim]{delivery.id}[/]"


def _retry(at: datetime | None) -> str:
    return f"next attempt at {at.astimezone():%H:%M:%S}" if at else "will be retried"


def trigger(
    event: Annotated[str, typer.Argument(help="The event to reach, e.g. verification.completed.")],
    key: Annotated[
        str,
        typer.Option(
            envvar="LIVEHOOK_API_KEY",
            help="API key the session belongs to (its webhooks receive it).",
        ),
    ],
    model: Annotated[str, typer.Option(help="Detection model of the session.")] = "mixed-30-v2",
    tracker: Annotated[str, typer.Option(help="external_tracker label.")] = "livehook-trigger",
    api_url: Annotated[
        str,
        typer.Option(envvar="LIVEHOOK_API_URL", help="A running `livehook serve` to send through."),
    ] = "http://127.0.0.1:8000",
    wait: Annotated[
        bool, typer.Option(help="Wait for the deliveries and print each outcome.")
    ] = True,
    send: Annotated[bool, typer.Option("--send", hidden=True)] = False,  # the default now
) -> None:
    """Drive a simulated session to EVENT; its webhooks get real deliveries (stripe trigger)."""
    import asyncio

    from livehook.commands.common import fail, load_settings, with_services
    from livehook.domain.scopes import SESSIONS_WRITE
    from livehook.domain.simulation import plan_for
    from livehook.logs import configure_logging
    from livehook.services.simulation import simulate

    del send
    try:
        plan_for(event)
    except ValueError as exc:
        raise fail(str(exc)) from None
    settings = load_settings()
    configure_logging(settings.log_level)
    console = Console(highlight=False)

    async def run(services: Services) -> int:
        principal = await services.keys.authenticate(key)
        if principal is None:
            raise fail("invalid or revoked API key")
        if not principal.allows(SESSIONS_WRITE):
            raise fail(f"this API key lacks the `{SESSIONS_WRITE}` scope")
        view = await simulate(
            services.sessions, principal, event, model=model, external_tracker=tracker
        )
        session_id = str(view.session.id)
        console.print(f"[green]✓[/] session [bold]{session_id}[/] ({model})")
        for reached in view.stages:
            console.print(f"  {reached.reached_at:%H:%M:%S.%f}  {reached.stage}")
        from livehook.storage.repositories.delivery_log import DeliveryFilters

        async def outcomes() -> list[Delivery]:
            return await services.deliveries.list_for_account(
                principal, DeliveryFilters(), session_id=session_id, limit=1000
            )

        queued = await outcomes()
        if not queued:
            console.print(
                "[yellow]Nothing was sent:[/] no active webhook of this API key subscribes to "
                "these events. Register one (POST /v1/webhooks) or run `livehook listen`."
            )
            return 0
        if not wait:
            console.print(f"{len(queued)} deliveries queued for a running serve or worker.")
            return 0
        if await asyncio.to_thread(server_has_session, api_url, key, session_id):
            console.print(f"Sent by the livehook serve at {api_url}; waiting for the attempts …")
            queued = await _attempted(outcomes, queued)
        else:
            console.print("No livehook serve answers for this database: sending from here …")
            await _send_here(settings, services)
            queued = await outcomes()
        return _report(console, queued)

    raise typer.Exit(with_services(run))


async def _attempted(
    outcomes: Callable[[], Awaitable[list[Delivery]]], queued: list[Delivery]
) -> list[Delivery]:
    """The deliveries once each was attempted (or the wait ran out)."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + SERVER_WAIT_S
    while any(d.attempt_count == 0 for d in queued) and loop.time() < deadline:
        await asyncio.sleep(POLL_S)
        queued = await outcomes()
    return queued


async def _send_here(settings: Settings, services: Services) -> None:
    from livehook.composition import build_worker

    runner = build_worker(settings, services)
    try:
        await runner.run(until_idle=True)
    finally:
        await runner.close()


def _report(console: Console, deliveries: list[Delivery]) -> int:
    delivered = 0
    for delivery in sorted(deliveries, key=lambda d: d.id):
        ok, line = describe(delivery)
        delivered += ok
        console.print(f"  {line}")
    total = len(deliveries)
    if delivered == total:
        console.print(f"[green]✓ {delivered} of {total} deliveries succeeded[/]")
        return 0
    console.print(
        f"[red]✗ {delivered} of {total} deliveries succeeded[/]; see them with "
        "`livehook deliveries get <id>`"
    )
    return 1
