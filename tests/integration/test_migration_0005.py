"""Migration 0005 (the lease as a column) on a database holding a row in flight: the lease it
held in ``next_attempt_at`` becomes its ``lease_expires_at``; rows with no lease get none."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from livehook.services.registry import Services
from livehook.storage.delivery_queue import DeliveryQueue, Lease
from livehook.storage.tables import deliveries
from tests.support.deliveries import FakeClock, enqueue, new_account, new_webhook
from tests.support.migrations import to_revision


async def test_a_row_in_flight_keeps_its_lease_across_the_upgrade(services: Services) -> None:
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, "http://127.0.0.1:9/x")
    leased = await enqueue(services, account, webhook=hook.webhook, now=clock())
    async with services.db.transaction() as tx:
        until = clock() + timedelta(seconds=90)
        assert await DeliveryQueue(tx).claim(Lease("t" * 32, until), now=clock(), limit=1)
    waiting = await enqueue(services, account, webhook=hook.webhook, now=clock())
    await services.db.engine.dispose()  # SQLite's batch copy wants the file to itself
    async with services.db.engine.begin() as conn:
        await conn.run_sync(to_revision("0004"))
        await conn.run_sync(to_revision("head"))
        query = select(deliveries.c.id, deliveries.c.lease_expires_at)
        rows = {row.id: row.lease_expires_at for row in await conn.execute(query)}
    assert rows == {leased.id: until, waiting.id: None}
