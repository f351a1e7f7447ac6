"""delivery_bodies: each body stored once, deliveries refer to it

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "delivery_bodies",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_bodies")),
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("body_id", sa.String(length=64), nullable=True))
    _move_bodies()
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("request_body")
        batch.create_index(batch.f("ix_deliveries_body_id"), ["body_id"], unique=False)


def _move_bodies() -> None:
    """Each stored body to ``delivery_bodies`` under its SHA-256 (computed here: SQLite has no
    hash function), a batch of deliveries at a time."""
    conn = op.get_bind()
    last = ""
    while True:
        rows = conn.execute(
            sa.text(
                "SELECT id, request_body FROM deliveries WHERE id > :last "
                "AND request_body IS NOT NULL ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": _BATCH},
        ).all()
        if not rows:
            return
        keyed = [(row.id, hashlib.sha256(row.request_body.encode()).hexdigest()) for row in rows]
        bodies = {key: row.request_body for row, (_, key) in zip(rows, keyed, strict=True)}
        known = set(
            conn.execute(
                sa.text("SELECT id FROM delivery_bodies WHERE id IN :ids").bindparams(
                    sa.bindparam("ids", expanding=True)
                ),
                {"ids": list(bodies)},
            ).scalars()
        )
        new = [{"id": key, "body": body} for key, body in bodies.items() if key not in known]
        if new:
            conn.execute(sa.text("INSERT INTO delivery_bodies (id, body) VALUES (:id, :body)"), new)
        conn.execute(
            sa.text("UPDATE deliveries SET body_id = :key WHERE id = :id"),
            [{"id": id_, "key": key} for id_, key in keyed],
        )
        last = rows[-1].id


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("request_body", sa.Text(), nullable=True))
    op.execute(
        "UPDATE deliveries SET request_body = "
        "(SELECT body FROM delivery_bodies WHERE delivery_bodies.id = deliveries.body_id)"
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index(batch.f("ix_deliveries_body_id"))
        batch.drop_column("body_id")
    op.drop_table("delivery_bodies")
