"""The delivery log API, on SQLite and PostgreSQL: list, get, redeliver, recover, test events,
retention, scopes and accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from livehook.receiver import verify
from livehook.services.registry import Services
from livehook.storage.delivery_queue import DeliveryQueue, Lease
from tests.support.deliveries import (
    FakeClock,
    TestAccount,
    WorkerFactory,
    enqueue,
    new_account,
    new_webhook,
)
from tests.support.http import auth, data, error
from tests.support.receivers import Receiver

ADDED_BY_HTTP = {"host", "content-length"}


async def log_of(client: httpx.AsyncClient, key: str, webhook_id: str, **query: Any) -> Any:
    response = await client.get(
        f"/v1/webhooks/{webhook_id}/deliveries", params=query, headers=auth(key)
    )
    return data(response)


async def detail(client: httpx.AsyncClient, key: str, delivery_id: str) -> Any:
    return data(await client.get(f"/v1/deliveries/{delivery_id}", headers=auth(key)))


async def test_the_log_lists_newest_first_filters_and_pages_with_a_cursor(
    client: httpx.AsyncClient,
    services: Services,
    account: TestAccount,
    make_worker: WorkerFactory,
    receiver: Receiver,
) -> None:
    clock = FakeClock()
    hook = await new_webhook(services, account, receiver.script("/script/log", 500))
    first = await enqueue(services, account, webhook=hook.webhook, now=clock() - timedelta(1))
    second = await enqueue(
        services, account, webhook=hook.webhook, event_type="liveness.passed", now=clock()
    )
    third = await enqueue(services, account, webhook=hook.webhook, now=clock())
    await make_worker(clock).run_once()  # the oldest gets the 500

    page = await log_of(client, account.key, hook.webhook.id, limit=2)
    assert [d["id"] for d in page["items"]] == [third.id, second.id] and page["has_more"]
    rest = await log_of(client, account.key, hook.webhook.id, cursor=page["next_cursor"])
    assert [d["id"] for d in rest["items"]] == [first.id] and rest["next_cursor"] is None

    async def ids(**query: Any) -> list[str]:
        return [
            d["id"] for d in (await log_of(client, account.key, hook.webhook.id, **query))["items"]
        ]

    assert await ids(event="liveness.passed") == [second.id]
    assert await ids(status="pending") == [first.id]
    assert await ids(status="succeeded") == [third.id, second.id]
    assert await ids(model="mixed-30-v2") == [third.id, first.id]
    assert await ids(created_before=clock().isoformat()) == [first.id]
    assert await ids(created_after=clock().isoformat()) == [third.id, second.id]
    error(
        await client.get(
            f"/v1/webhooks/{hook.webhook.id}/deliveries?status=lost", headers=auth(account.key)
        ),
        422,
    )


async def test_a_delivery_shows_the_exact_bytes_and_headers_that_arrived_and_each_attempt(
    client: httpx.AsyncClient,
    services: Services,
    account: TestAccount,
    make_worker: WorkerFactory,
    receiver: Receiver,
) -> None:
    clock = FakeClock()
    hook = await new_webhook(services, account, receiver.script("/script/one", 503))
    delivery = await enqueue(services, account, webhook=hook.webhook, now=clock())
    worker = make_worker(clock)
    await worker.run_once()
    clock.advance(5)
    await worker.run_once()
    shown = await detail(client, account.key, delivery.id)
    last = receiver.received[-1]
    assert shown["request_body"].encode() == last.body
    assert shown["status"] == "succeeded" and shown["attempt_count"] == 2
    failed, succeeded = shown["attempts"]
    assert (failed["number"], failed["response_status"], failed["response_body"]) == (
        1,
        503,
        "scripted",
    )
    assert failed["next_attempt_at"] is not None and failed["duration_ms"] >= 0
    sent = [[k, v] for k, v in last.headers if k.lower() not in ADDED_BY_HTTP]
    assert [list(item) for item in succeeded["request_headers"].items()] == sent
    assert succeeded["response_headers"]["Content-Type"].startswith("text/plain")


async def test_redeliver_is_one_more_attempt_of_the_same_delivery(
    client: httpx.AsyncClient,
    services: Services,
    account: TestAccount,
    make_worker: WorkerFactory,
    receiver: Receiver,
) -> None:
    clock = FakeClock()
    url = receiver.script("/script/re", 500, 500)
    hook = await new_webhook(services, account, url, retry_policy="once")
    delivery = await enqueue(services, account, webhook=hook.webhook, now=clock())
    worker = make_worker(clock)
    await worker.run_once()
    clock.advance(5)
    await worker.run_once()
    assert (await detail(client, account.key, delivery.id))["status"] == "failed"

    response = await client.post(
        f"/v1/deliveries/{delivery.id}/redeliver", headers=auth(account.key)
    )
    queued = data(response, 202)
    assert queued["status"] == "pending" and queued["completed_at"] is None
    await worker.run_once()
    shown = await detail(client, account.key, delivery.id)
    assert shown["status"] == "succeeded"
    assert [a["number"] for a in shown["attempts"]] == [1, 2, 3]
    assert {r.event_id for r in receiver.received} == {delivery.event_id}
    assert len({r.body for r in receiver.received}) == 1  # the same bytes every time


async def test_redeliver_is_refused_while_in_flight_or_once_pruned(
    client: httpx.AsyncClient, services: Services, account: TestAccount
) -> None:
    hook = await new_webhook(services, account, "http://127.0.0.1:9/x")
    clock = FakeClock()
    old = clock() - timedelta(days=40)
    pruned = await enqueue(services, account, webhook=hook.webhook, now=old, created_at=old)
    await services.deliveries.prune()
    response = await client.post(f"/v1/deliveries/{pruned.id}/redeliver", headers=auth(account.key))
    assert "pruned" in error(response, 409, "conflict")["message"]

    leased = await enqueue(services, account, webhook=hook.webhook)
    async with services.db.transaction() as tx:
        now = datetime.now(UTC)
        await DeliveryQueue(tx).claim(Lease("t" * 32, now + timedelta(minutes=2)), now=now, limit=5)
    response = await client.post(f"/v1/deliveries/{leased.id}/redeliver", headers=auth(account.key))
    assert "right now" in error(response, 409, "conflict")["message"]


async def test_recover_requeues_the_failed_deliveries_since_a_time(
    client: httpx.AsyncClient,
    services: Services,
    account: TestAccount,
    make_worker: WorkerFactory,
    receiver: Receiver,
) -> None:
    clock = FakeClock()
    url = receiver.script("/script/rec", *[500] * 6)
    hook = await new_webhook(services, account, url, retry_policy="once")
    old = clock() - timedelta(hours=2)
    before = await enqueue(services, account, webhook=hook.webhook, now=clock(), created_at=old)
    recent = [await enqueue(services, account, webhook=hook.webhook, now=clock()) for _ in (1, 2)]
    worker = make_worker(clock)
    await worker.run_once()
    clock.advance(5)
    await worker.run_once()
    since = (clock() - timedelta(hours=1)).isoformat()
    response = await client.post(
        f"/v1/webhooks/{hook.webhook.id}/recover", json={"since": since}, headers=auth(account.key)
    )
    assert data(response, 202) == {"count": 2}
    await make_worker(clock).run_once()  # a fresh worker: the first one's breaker is open
    statuses = {
        d["id"]: d["status"] for d in (await log_of(client, account.key, hook.webhook.id))["items"]
    }
    assert statuses == {before.id: "failed", recent[0].id: "succeeded", recent[1].id: "succeeded"}
    naive = await client.post(
        f"/v1/webhooks/{hook.webhook.id}/recover",
        json={"since": "2026-01-01T00:00:00"},
        headers=auth(account.key),
    )
    error(naive, 422)


async def test_a_test_event_is_signed_marked_in_body_and_headers_and_logged(
    client: httpx.AsyncClient,
    services: Services,
    account: TestAccount,
    make_worker: WorkerFactory,
    receiver: Receiver,
) -> None:
    hook = await new_webhook(services, account, receiver.url("/ok"), payload_format="thin")
    response = await client.post(
        f"/v1/webhooks/{hook.webhook.id}/test",
        json={"event_type": "verification.completed"},
        headers=auth(account.key),
    )
    queued = data(response, 202)
    assert queued["is_test"] is True and queued["webhook_id"] == hook.webhook.id
    await make_worker().run_once()
    [got] = receiver.received
    event = verify(got.body, got.headers, hook.secret)
    assert event["test"] is True and event["event"] == "verification.completed"
    assert set(event) == {"id", "event", "session_id", "timestamp", "test"}  # thin
    assert got.header("X-Webhook-Test") == "true"
    assert event["id"] == queued["event_id"] and event["id"].startswith("evt_")
    [logged] = (await log_of(client, account.key, hook.webhook.id))["items"]
    assert logged["is_test"] is True and logged["status"] == "succeeded"

    unknown = await client.post(
        f"/v1/webhooks/{hook.webhook.id}/test",
        json={"event_type": "verification.exploded"},
        headers=auth(account.key),
    )
    assert "unknown event type" in error(unknown, 422, "invalid_request")["message"]


async def test_prune_removes_old_payloads_and_keeps_attempts(
    client: httpx.AsyncClient,
    services: Services,
    account: TestAccount,
    make_worker: WorkerFactory,
    receiver: Receiver,
) -> None:
    clock = FakeClock(FakeClock()() - timedelta(days=31))
    hook = await new_webhook(services, account, receiver.url("/ok"))
    old = await enqueue(services, account, webhook=hook.webhook, now=clock())
    await make_worker(clock).run_once()
    fresh = await enqueue(services, account, webhook=hook.webhook)
    assert await services.deliveries.prune() == 1
    shown = await detail(client, account.key, old.id)
    assert shown["request_body"] is None and shown["payload_pruned_at"] is not None
    assert shown["status"] == "succeeded" and len(shown["attempts"]) == 1
    assert (await detail(client, account.key, fresh.id))["request_body"] == fresh.request_body


async def test_log_routes_need_the_deliveries_scopes(
    client: httpx.AsyncClient, services: Services, account: TestAccount
) -> None:
    hook = await new_webhook(services, account, "http://127.0.0.1:9/x")
    delivery = await enqueue(services, account, webhook=hook.webhook)
    webhooks_only = (
        await services.keys.create(account_name="acme", scopes=["webhooks:read"])
    ).plaintext
    reader = (await services.keys.create(account_name="acme", scopes=["deliveries:read"])).plaintext
    wh = hook.webhook.id
    error(await client.get(f"/v1/webhooks/{wh}/deliveries", headers=auth(webhooks_only)), 403)
    error(await client.get(f"/v1/deliveries/{delivery.id}", headers=auth(webhooks_only)), 403)
    data(await client.get(f"/v1/webhooks/{wh}/deliveries", headers=auth(reader)))
    data(await client.get(f"/v1/deliveries/{delivery.id}", headers=auth(reader)))
    for path, body in (
        (f"/v1/deliveries/{delivery.id}/redeliver", None),
        (f"/v1/webhooks/{wh}/recover", {"since": "2026-01-01T00:00:00Z"}),
        (f"/v1/webhooks/{wh}/test", {"event_type": "verification.started"}),
    ):
        assert (
            "deliveries:write"
            in error(await client.post(path, json=body, headers=auth(reader)), 403, "forbidden")[
                "message"
            ]
        )


async def test_another_accounts_deliveries_and_endpoints_are_not_found(
    client: httpx.AsyncClient, services: Services, account: TestAccount
) -> None:
    hook = await new_webhook(services, account, "http://127.0.0.1:9/x")
    delivery = await enqueue(services, account, webhook=hook.webhook)
    other = (await new_account(services, "globex")).key
    wh = hook.webhook.id
    error(await client.get(f"/v1/webhooks/{wh}/deliveries", headers=auth(other)), 404)
    error(await client.get(f"/v1/deliveries/{delivery.id}", headers=auth(other)), 404)
    for path, body in (
        (f"/v1/deliveries/{delivery.id}/redeliver", None),
        (f"/v1/webhooks/{wh}/recover", {"since": "2026-01-01T00:00:00Z"}),
        (f"/v1/webhooks/{wh}/test", {"event_type": "verification.started"}),
    ):
        error(await client.post(path, json=body, headers=auth(other)), 404, "not_found")


async def test_redeliver_and_test_events_are_refused_for_a_disabled_endpoint(
    client: httpx.AsyncClient, services: Services, account: TestAccount
) -> None:
    hook = await new_webhook(services, account, "http://127.0.0.1:9/x")
    delivery = await enqueue(services, account, webhook=hook.webhook)
    await services.webhooks.update(account.principal, hook.webhook.id, {"status": "disabled"})
    redelivered = await client.post(
        f"/v1/deliveries/{delivery.id}/redeliver", headers=auth(account.key)
    )
    assert "is disabled" in error(redelivered, 409, "conflict")["message"]
    tested = await client.post(f"/v1/webhooks/{hook.webhook.id}/test", headers=auth(account.key))
    assert "is disabled" in error(tested, 409, "conflict")["message"]
