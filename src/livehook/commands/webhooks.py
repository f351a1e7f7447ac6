"""`livehook webhooks list|create`: an account's endpoints from the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from livehook.commands.common import JsonOption, KeyOption, id_column, principal_of, print_json
from livehook.commands.groups import command_group

if TYPE_CHECKING:
    from livehook.domain.webhooks import Webhook
    from livehook.services.registry import Services
    from livehook.services.webhooks import WithSecret

app = command_group(help="Webhook endpoints: list, register.", no_args_is_help=True)
console = Console(highlight=False)


@app.command("list")
def list_webhooks(key: KeyOption, as_json: JsonOption = False) -> None:
    """The account's endpoints (never their secrets)."""
    from livehook.api.schemas.webhooks import WebhookPublic
    from livehook.commands.common import with_services
    from livehook.domain.scopes import WEBHOOKS_READ

    async def run(services: Services) -> list[Webhook]:
        principal = await principal_of(services, key, WEBHOOKS_READ)
        return await services.webhooks.list_page(principal, limit=10_000)

    found = with_services(run)
    if as_json:
        print_json([WebhookPublic.of(w).model_dump(mode="json") for w in found])
        return
    table = Table(id_column("id", [w.id for w in found]), "url", "events", "model", "status")
    for w in found:
        table.add_row(
            w.id,
            escape(w.url),
            ", ".join(w.events) or "all",
            w.model or "all",
            w.status if w.active else f"[red]{w.status}[/]",
        )
    console.print(table)


@app.command("create")
def create_webhook(
    url: Annotated[str, typer.Argument(help="Where to deliver (https://…).")],
    key: KeyOption,
    event: Annotated[
        list[str] | None, typer.Option(help="An event type; repeat for more. None: all.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Only sessions of this model.")] = None,
    description: Annotated[str, typer.Option(help="A note to tell it apart.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Register an endpoint for the key. Its signing secret is printed once."""
    from livehook.api.schemas.webhooks import WebhookPublic, WebhookWithSecret
    from livehook.commands.common import with_services
    from livehook.domain.scopes import WEBHOOKS_WRITE
    from livehook.services.webhooks import WebhookDraft

    async def run(services: Services) -> WithSecret:
        principal = await principal_of(services, key, WEBHOOKS_WRITE)
        draft = WebhookDraft(
            url=url, description=description, events=tuple(event or ()), model=model
        )
        return await services.webhooks.create(principal, draft)

    created = with_services(run)
    shown = WebhookWithSecret(
        **WebhookPublic.of(created.webhook).model_dump(), secret=created.secret
    )
    if as_json:
        print_json(shown.model_dump(mode="json"))
        return
    from rich.panel import Panel  # only the secret-once commands frame their output

    console.print(
        Panel.fit(
            f"[bold]{created.secret}[/]\n\n"
            f"id: {shown.id}   url: {escape(shown.url)}   "
            f"events: {', '.join(shown.events) or 'all'}",
            title="Webhook signing secret — shown once, store it now",
            border_style="green",
        )
    )
