"""events.trace_context: the W3C trace context of the request that created an event

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 08:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: adding it rewrites no row on either database.
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("trace_context", sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("trace_context")
