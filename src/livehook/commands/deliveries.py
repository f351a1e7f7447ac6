"""`livehook deliveries list|get|redeliver`: the delivery log from the terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from livehook.commands.common import JsonOption, KeyOption, id_column, principal_of, print_json
from livehook.commands.groups import command_group
from livehook.domain.listening import is_listen_url

if TYPE_CHECKING:
    from livehook.api.schemas.deliveries import DeliveryDetailPublic
    from livehook.domain.deliveries import Delivery
    from livehook.services.registry import Services

app = command_group(help="The delivery log: list, inspect, redeliver.", no_args_is_help=True)
console = Console(highlight=False)


def _target(delivery: Delivery) -> str:
    return "livehook listen" if is_listen_url(delivery.target_url) else delivery.target_url


def _outcome(delivery: Delivery) -> str:
    if delivery.last_status_code is not None:
        return str(delivery.last_status_code)
    return delivery.last_error or "—"


@app.command("list")
def list_deliveries(
    key: KeyOption,
    webhook: Annotated[str | None, typer.Option(help="Only this endpoint's (wh_…).")] = None,
    session: Annotated[str | None, typer.Option(help="Only this session's.")] = None,
    status: Annotated[str | None, typer.Option(help="pending, succeeded or failed.")] = None,
    event: Annotated[str | None, typer.Option(help="Only this event type.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """The account's deliveries, newest first."""
    from livehook.api.schemas.deliveries import DeliveryPublic
    from livehook.commands.common import with_services
    from livehook.domain.scopes import DELIVERIES_READ
    from livehook.storage.repositories.delivery_log import DeliveryFilters

    async def run(services: Services) -> list[Delivery]:
        principal = await principal_of(services, key, DELIVERIES_READ)
        filters = DeliveryFilters(event_type=event, status=status)
        return await services.deliveries.list_for_account(
            principal, filters, webhook_id=webhook, session_id=session, limit=limit
        )

    found = with_services(run)
    if as_json:
        print_json([DeliveryPublic.of(d).model_dump(mode="json") for d in found])
        return
    table = Table(
        id_column("id", [d.id for d in found]),
        "event",
        "target",
        "status",
        "attempts",
        "last answer",
        "created",
    )
    for d in found:
        table.add_row(
            d.id,
            d.event_type,
            escape(_target(d)),
            d.status,
            str(d.attempt_count),
            escape(_outcome(d)),
            d.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        )
    console.print(table)


@app.command("get")
def get_delivery(
    delivery_id: Annotated[str, typer.Argument(help="The delivery's id (dlv_…).")],
    key: KeyOption,
    as_json: JsonOption = False,
) -> None:
    """One delivery with its exact body and every attempt."""
    from livehook.commands.common import with_services
    from livehook.domain.scopes import DELIVERIES_READ

    async def run(services: Services) -> DeliveryDetailPublic:
        from livehook.api.schemas.deliveries import (
            AttemptPublic,
            DeliveryDetailPublic,
            DeliveryPublic,
        )

        principal = await principal_of(services, key, DELIVERIES_READ)
        detail = await services.deliveries.get(principal, delivery_id)
        return DeliveryDetailPublic(
            **DeliveryPublic.of(detail.delivery).model_dump(),
            request_body=detail.delivery.request_body,
            attempts=[AttemptPublic.of(a) for a in detail.attempts],
        )

    detail = with_services(run)
    if as_json:
        print_json(detail.model_dump(mode="json"))
        return
    target = "livehook listen" if detail.via_cli else detail.target_url
    console.print(
        f"[bold]{detail.id}[/]  {detail.event_type} → {escape(target)}  "
        f"[bold]{detail.status}[/] after {detail.attempt_count} attempt(s)\n"
        f"event {detail.event_id}  session {detail.session_id or '—'}  "
        f"webhook {detail.webhook_id or 'callback_url'}"
    )
    console.print(f"[dim]body:[/] {escape(detail.request_body or '(pruned)')}")
    for attempt in detail.attempts:
        answer = (
            f"{attempt.response_status}"
            if attempt.response_status is not None
            else f"no answer: {attempt.error}"
        )
        console.print(
            f"  #{attempt.number}  {attempt.started_at.astimezone():%H:%M:%S}  "
            f"{escape(answer)}  {attempt.duration_ms:.0f} ms"
        )
        if attempt.response_body:
            console.print(f"      [dim]{escape(attempt.response_body[:200])}[/]")


@app.command("redeliver")
def redeliver(
    delivery_id: Annotated[str, typer.Argument(help="The delivery's id (dlv_…).")],
    key: KeyOption,
) -> None:
    """Send a delivery once more now (its attempts are kept)."""
    from livehook.commands.common import with_services
    from livehook.domain.scopes import DELIVERIES_WRITE

    async def run(services: Services) -> Delivery:
        principal = await principal_of(services, key, DELIVERIES_WRITE)
        return await services.deliveries.redeliver(principal, delivery_id)

    queued = with_services(run)
    console.print(
        f"[green]✓[/] {queued.id} queued again: a running `livehook serve` or `livehook worker` "
        "sends it now"
    )
