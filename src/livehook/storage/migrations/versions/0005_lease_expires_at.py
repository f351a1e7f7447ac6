"""deliveries.lease_expires_at: the lease as a column of its own

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import livehook.storage.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: adding it rewrites no row on either database.
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(
            sa.Column(
                "lease_expires_at",
                livehook.storage.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
    # Rows leased right now: their lease ended where their next attempt was pushed to.
    op.execute(
        "UPDATE deliveries SET lease_expires_at = next_attempt_at "
        "WHERE status = 'pending' AND lease_token IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("lease_expires_at")
