"""The listening endpoint of `livehook listen` in the queue, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from livehook.domain.accounts import Principal
from livehook.services.errors import PermissionDenied
from livehook.services.registry import Services
from livehook.services.simulation import simulate
from livehook.storage.repositories.delivery_log import DeliveryFilters
from livehook.storage.tables import deliveries

HAPPY_PATH = 7


async def principal_of(services: Services, key: str) -> Principal:
    principal = await services.keys.authenticate(key)
    assert principal is not None
    return principal


async def log_of(services: Services, principal: Principal, webhook_id: str) -> list[str]:
    page = await services.deliveries.list_for_webhook(
        principal, webhook_id, DeliveryFilters(), limit=100
    )
    return sorted(d.event_type for d in page)


async def test_one_endpoint_per_key_with_a_stable_secret(services: Services, full_key: str) -> None:
    principal = await principal_of(services, full_key)
    first = await services.listening.open(principal)
    await services.listening.close(principal, first.webhook.id)
    assert (await services.webhooks.get(principal, first.webhook.id)).status == "disabled"
    again = await services.listening.open(principal, events=["verification.completed"])
    assert (again.webhook.id, again.secret) == (first.webhook.id, first.secret)
    assert again.webhook.status == "active"
    assert again.webhook.events == ("verification.completed",)


async def test_events_are_queued_for_it_like_for_any_endpoint(
    services: Services, full_key: str
) -> None:
    principal = await principal_of(services, full_key)
    listening = await services.listening.open(principal, events=["verification.completed"])
    await simulate(services.sessions, principal, "verification.completed")
    assert await log_of(services, principal, listening.webhook.id) == ["verification.completed"]


async def test_reopening_makes_what_waited_due_and_since_replays_the_rest(
    services: Services, full_key: str
) -> None:
    principal = await principal_of(services, full_key)
    before = datetime.now(UTC) - timedelta(seconds=1)
    listening = await services.listening.open(principal, events=["verification.started"])
    await simulate(services.sessions, principal, "verification.completed")
    waited = await services.listening.open(principal, events=["verification.started"])
    assert (waited.due_now, waited.replayed) == (1, 0)

    everything = await services.listening.open(principal, since=before)
    # the one still waiting is due now; the six events it never had are replayed
    assert (everything.due_now, everything.replayed) == (1, HAPPY_PATH - 1)
    assert len(await log_of(services, principal, listening.webhook.id)) == HAPPY_PATH


async def test_since_sends_again_what_was_delivered_before(
    services: Services, full_key: str
) -> None:
    principal = await principal_of(services, full_key)
    before = datetime.now(UTC) - timedelta(seconds=1)
    listening = await services.listening.open(principal, events=["verification.started"])
    await simulate(services.sessions, principal, "verification.started")
    async with services.db.transaction() as tx:  # as if the worker had delivered it
        await tx.conn.execute(
            deliveries.update()
            .where(deliveries.c.webhook_id == listening.webhook.id)
            .values(status="succeeded")
        )
    again = await services.listening.open(principal, events=["verification.started"], since=before)
    assert (again.due_now, again.replayed) == (0, 1)
    [delivery] = await services.deliveries.list_for_webhook(
        principal, listening.webhook.id, DeliveryFilters()
    )
    assert delivery.status == "pending"


async def test_listening_needs_webhooks_write(services: Services) -> None:
    created = await services.keys.create(
        account_name="acme", name="reader", scopes=["webhooks:read"]
    )
    principal = await principal_of(services, created.plaintext)
    with pytest.raises(PermissionDenied):
        await services.listening.open(principal)
