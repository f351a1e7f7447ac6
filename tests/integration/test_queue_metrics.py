"""The queue gauges read from the database: due, leased, the oldest due's age, disabled
endpoints, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from livehook.services.monitoring import refresh_queue_metrics
from livehook.services.registry import Services
from tests.support.deliveries import FakeClock, enqueue, new_account, new_webhook


def gauge(name: str) -> float:
    value = REGISTRY.get_sample_value(name)
    assert value is not None, name
    return value


async def test_gauges_count_due_and_leased_rows_and_age_the_oldest(services: Services) -> None:
    account = await new_account(services)
    hook = await new_webhook(services, account, "https://hooks.example.com/a")
    start = datetime.now(UTC).replace(microsecond=0)
    await enqueue(services, account, webhook=hook.webhook, now=start - timedelta(seconds=90))
    await enqueue(services, account, webhook=hook.webhook, now=start - timedelta(seconds=30))
    await enqueue(services, account, webhook=hook.webhook, now=start + timedelta(hours=1))

    await refresh_queue_metrics(services.db, FakeClock(start))

    assert gauge("livehook_queue_due") == 2  # the third is not due yet
    assert gauge("livehook_queue_leased") == 0
    assert gauge("livehook_queue_oldest_due_age_seconds") == 90
    assert gauge("livehook_endpoints_disabled") == 0
