"""Migration 0006 (bodies stored once) on a database holding deliveries: every delivery keeps
its exact bytes, equal bytes become one body, a pruned delivery stays without one."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from livehook import ids
from livehook.domain.deliveries import NewDelivery
from livehook.services.registry import Services
from livehook.storage.delivery_queue import DeliveryQueue
from livehook.storage.tables import delivery_bodies
from tests.support.deliveries import FakeClock, enqueue, new_account, new_webhook, stored
from tests.support.migrations import to_revision


async def test_each_delivery_keeps_its_bytes_and_equal_bytes_are_stored_once(
    services: Services,
) -> None:
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, "http://127.0.0.1:9/x")
    other = await new_webhook(services, account, "http://127.0.0.1:9/y")
    first = await enqueue(services, account, webhook=hook.webhook, now=clock())
    assert first.request_body is not None
    twin = NewDelivery(
        id=ids.new_id("dlv"),
        account_id=first.account_id,
        event_id=first.event_id,
        webhook_id=other.webhook.id,
        api_key_id=first.api_key_id,
        session_id=first.session_id,
        target_url=other.webhook.url,
        event_type=first.event_type,
        model=first.model,
        payload_format="full",
        signature_scheme="hmac-sha256",
        request_body=first.request_body,
    )
    old = clock() - timedelta(days=40)
    gone = await enqueue(services, account, webhook=hook.webhook, now=old, created_at=old)
    async with services.db.transaction() as tx:
        queue = DeliveryQueue(tx)
        await queue.enqueue([twin], now=clock())
        assert await queue.prune(older_than=clock() - timedelta(days=30), now=clock(), limit=10)
    await services.db.engine.dispose()  # SQLite's batch copy wants the file to itself
    async with services.db.engine.begin() as conn:
        await conn.run_sync(to_revision("0005"))
        await conn.run_sync(to_revision("head"))
        bodies = (await conn.execute(select(func.count()).select_from(delivery_bodies))).scalar()
    assert bodies == 1
    assert (await stored(services, first.id)).request_body == first.request_body
    assert (await stored(services, twin.id)).request_body == first.request_body
    assert (await stored(services, gone.id)).request_body is None
