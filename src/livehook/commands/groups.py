"""`command_group`: a Typer app whose flags left out cost no coercion.

Typer coerces every option it reads through a pydantic ``TypeAdapter``, built the first time,
even a flag nobody gave (``--help``, ``--install-completion``: their value is then ``None``,
which it passes through untouched). Building that adapter imports most of pydantic, about 75 ms
of CPU in every command. A flag that defaults to ``False`` instead of ``None`` is a bool, which
Typer leaves as it is, so the adapter is never built: same flags, same help, same behaviour.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup


def command_group(**settings: Any) -> typer.Typer:
    return typer.Typer(cls=_FlagsDefaultFalse, **settings)


def _default_false(params: list[Any]) -> list[Any]:
    for param in params:
        if getattr(param, "is_bool_flag", False) and param.default is None:
            param.default = False
    return params


class _FlagsDefaultFalse(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _default_false(super().get_params(ctx))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _default_false(command.get_params(ctx))  # its --help (kept by the command)
        return command
