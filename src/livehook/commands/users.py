"""`livehook users`: the people who sign in to the developer portal."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from livehook.commands.groups import command_group

if TYPE_CHECKING:
    from livehook.services.registry import Services

users_app = command_group(
    help="Manage portal users (who signs in at /portal).", no_args_is_help=True
)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        # One line: a trailing newline from `echo` or a file is not part of the password.
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("create")
def users_create(
    account: Annotated[str, typer.Option(help="Account name (created if new).")],
    email: Annotated[str, typer.Option(help="The person's email; they sign in with it.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a portal user; asks for the password (or reads it with --password-stdin)."""
    from livehook.commands.common import console, with_services

    password = _read_password(password_stdin)

    async def create(services: Services) -> str:
        user = await services.portal.create_user(
            account_name=account, email=email, password=password
        )
        return user.email

    created = with_services(create)
    console.print(f"[green]✓[/] {created} can now sign in to the portal of account {account}")


@users_app.command("list")
def users_list() -> None:
    """List portal users (never their passwords)."""
    from livehook.commands.common import console, with_services

    async def show(services: Services) -> None:
        table = Table("email", "account", "created", "last sign-in")
        for user, account_name in await services.portal.users():
            table.add_row(
                user.email,
                account_name,
                user.created_at.strftime("%Y-%m-%d %H:%M"),
                user.last_sign_in_at.strftime("%Y-%m-%d %H:%M") if user.last_sign_in_at else "—",
            )
        console.print(table)

    with_services(show)
