"""wire profiles, session callback policies, callback secret rotation

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import livehook.storage.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(
            sa.Column(
                "wire_profile", sa.String(length=32), server_default="livehook", nullable=False
            )
        )
    # The profile folds in the scheme of that name: such endpoints keep sending the same way.
    op.execute(
        "UPDATE webhooks SET wire_profile = 'standard-webhooks' "
        "WHERE signature_scheme = 'standard-webhooks'"
    )
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(
            sa.Column(
                "callback_profile", sa.String(length=32), server_default="livehook", nullable=False
            )
        )
        batch.add_column(
            sa.Column(
                "callback_retry_policy",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(
            sa.Column(
                "wire_profile", sa.String(length=32), server_default="livehook", nullable=False
            )
        )
    op.create_index(
        op.f("ix_deliveries_session_id_id"), "deliveries", ["session_id", "id"], unique=False
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("previous_callback_secret", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column(
                "previous_callback_secret_expires_at",
                livehook.storage.types.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("previous_callback_secret_expires_at")
        batch.drop_column("previous_callback_secret")
    op.drop_index(op.f("ix_deliveries_session_id_id"), table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("wire_profile")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("callback_retry_policy")
        batch.drop_column("callback_profile")
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("wire_profile")
