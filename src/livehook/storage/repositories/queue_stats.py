"""The queue as an operator sees it: rows due, rows leased, the oldest due, disabled endpoints.

Read on each metrics scrape. The counts read the pending rows only (the partial index of the
claim), so their cost follows the backlog, not the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select

from livehook.storage.database import Transaction
from livehook.storage.tables import deliveries, webhooks


@dataclass(frozen=True, slots=True)
class QueueSnapshot:
    due: int
    leased: int
    oldest_due_at: datetime | None
    disabled_endpoints: int


async def queue_snapshot(tx: Transaction, now: datetime) -> QueueSnapshot:
    pending = deliveries.c.status == "pending"
    is_due = and_(deliveries.c.lease_token.is_(None), deliveries.c.next_attempt_at <= now)
    is_leased = and_(deliveries.c.lease_token.is_not(None), deliveries.c.next_attempt_at > now)
    row = (
        await tx.conn.execute(
            select(
                func.count().filter(is_due),
                func.count().filter(is_leased),
                func.min(deliveries.c.next_attempt_at).filter(is_due),
            ).where(pending)
        )
    ).one()
    disabled = await tx.conn.scalar(
        select(func.count()).select_from(webhooks).where(webhooks.c.status == "disabled")
    )
    oldest = row[2]
    if isinstance(oldest, str):  # SQLite's aggregate loses the column type: naive UTC text
        oldest = datetime.fromisoformat(oldest).replace(tzinfo=now.tzinfo)
    return QueueSnapshot(int(row[0] or 0), int(row[1] or 0), oldest, int(disabled or 0))
