"""Moving a test database's schema to one Alembic revision, as `livehook migrate` would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic import command

from livehook.storage.migrate import alembic_config


def to_revision(revision: str) -> Callable[[Any], None]:
    """For ``conn.run_sync``: upgrade to ``"head"``, or downgrade to ``revision``."""

    def run(connection: Any) -> None:
        if revision == "head":
            command.upgrade(alembic_config(connection), "head")
        else:
            command.downgrade(alembic_config(connection), revision)

    return run
