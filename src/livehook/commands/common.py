"""What the account-scoped commands share: the key that says whose, JSON out, whole ids."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Column

if TYPE_CHECKING:
    from livehook.domain.accounts import Principal
    from livehook.services.registry import Services

KeyOption = Annotated[
    str,
    typer.Option(envvar="LIVEHOOK_API_KEY", help="API key whose account to act for."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


async def principal_of(services: Services, key: str, scope: str) -> Principal:
    from livehook.cli import _fail

    principal = await services.keys.authenticate(key)
    if principal is None:
        raise _fail("invalid or revoked API key")
    if not principal.allows(scope):
        raise _fail(f"this API key lacks the `{scope}` scope")
    return principal


def print_json(value: Any) -> None:
    """Machine-readable output: stdout, unstyled, one document."""
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def id_column(header: str, ids: list[str]) -> Column:
    """A column that never truncates nor wraps an id: they are meant to be copied."""
    return Column(header, no_wrap=True, min_width=max((len(i) for i in ids), default=len(header)))
