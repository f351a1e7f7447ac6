"""What the metrics endpoints read from the database at each scrape."""

from __future__ import annotations

from livehook import metrics
from livehook.clock import Clock, system_clock
from livehook.storage.database import Database
from livehook.storage.repositories.queue_stats import queue_snapshot


async def refresh_queue_metrics(db: Database, clock: Clock = system_clock) -> None:
    """Set the queue and endpoint gauges from the database (one short read)."""
    now = clock()
    async with db.read() as tx:
        snapshot = await queue_snapshot(tx, now)
    metrics.set_queue(
        due=snapshot.due,
        leased=snapshot.leased,
        oldest_due_at=snapshot.oldest_due_at,
        disabled=snapshot.disabled_endpoints,
        now=now,
    )
