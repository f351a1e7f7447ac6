"""Alembic environment: run by `livehook migrate` through storage.migrate, never by import."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from livehook.storage.tables import metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes["connection"]
run(connection)
