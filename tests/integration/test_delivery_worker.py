"""The worker against real HTTP receivers on 127.0.0.1, on SQLite and PostgreSQL: the bytes and
headers on the wire, signatures, retries on a hand-driven clock, disabling, isolation."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook as StandardWebhook

from livehook.delivery.limits import Limits
from livehook.delivery.resolver import AddrInfo
from livehook.delivery.sender import Sender
from livehook.domain.breaker import BreakerPolicy
from livehook.domain.deliveries import FAILED, PENDING, SUCCEEDED
from livehook.receiver import verify
from livehook.services.registry import Services
from livehook.storage.repositories.delivery_log import DeliveryLogRepository
from livehook.storage.tables import attempts as attempt_rows
from livehook.storage.tables import deliveries as delivery_rows
from tests.support.deliveries import (
    FakeClock,
    ObservedWakeup,
    WorkerFactory,
    enqueue,
    new_account,
    new_webhook,
    stored,
)
from tests.support.receivers import Receiver, running_receiver

ADDED_BY_HTTP = {"host", "content-length"}


async def attempts_of(services: Services, delivery_id: str) -> list[object]:
    async with services.db.transaction() as tx:
        return list(await DeliveryLogRepository(tx).attempts(delivery_id))


# --- the wire --------------------------------------------------------------------------------


async def test_body_and_headers_arrive_exactly_as_logged_and_the_snippet_verifies(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, receiver.url("/ok"))
    delivery = await enqueue(services, account, webhook=hook.webhook, now=clock())
    assert await make_worker(clock).run_once() == 1

    [got] = receiver.received
    assert delivery.request_body is not None
    assert got.body == delivery.request_body.encode()
    # The source documents' snippet, unchanged.
    expected = "sha256=" + hmac.new(hook.secret.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.header("X-Webhook-Signature") == expected
    event = verify(got.body, got.headers, hook.secret, now=clock().timestamp())
    assert event["id"] == delivery.event_id
    [attempt] = await attempts_of(services, delivery.id)
    sent = [(k, v) for k, v in got.headers if k.lower() not in ADDED_BY_HTTP]
    assert sent == list(attempt.request_headers.items())  # type: ignore[attr-defined]
    assert sent[:6] == [
        ("Content-Type", "application/json"),
        ("User-Agent", "Livehook-Webhook/1.0"),
        ("X-Webhook-Event", "verification.completed"),
        ("X-Webhook-Session", delivery.session_id),
        ("X-Webhook-Id", delivery.event_id),
        ("X-Webhook-Timestamp", str(int(clock().timestamp()))),
    ]
    assert attempt.response_status == 200 and attempt.response_body == "ok"  # type: ignore[attr-defined]
    done = await stored(services, delivery.id)
    assert (done.status, done.attempt_count, done.last_status_code) == (SUCCEEDED, 1, 200)
    assert done.completed_at == clock()


async def test_standard_webhooks_deliveries_verify_with_the_pypi_package(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    account = await new_account(services)
    hook = await new_webhook(
        services, account, receiver.url("/ok"), signature_scheme="standard-webhooks"
    )
    delivery = await enqueue(services, account, webhook=hook.webhook)
    await make_worker().run_once()
    [got] = receiver.received
    payload = StandardWebhook(hook.secret).verify(got.body, dict(got.headers))
    assert payload["id"] == delivery.event_id == got.header("webhook-id")
    assert verify(got.body, got.headers, hook.secret)["id"] == delivery.event_id


async def test_during_a_rotation_both_secrets_sign_and_the_new_one_is_main(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    account = await new_account(services)
    hook = await new_webhook(services, account, receiver.url("/ok"))
    rotated = await services.webhooks.rotate_secret(account.principal, hook.webhook.id)
    await enqueue(services, account, webhook=hook.webhook)
    await make_worker().run_once()
    [got] = receiver.received
    snippet = "sha256=" + hmac.new(rotated.secret.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.header("X-Webhook-Signature") == snippet
    for secret in (hook.secret, rotated.secret):
        verify(got.body, got.headers, secret)


async def test_a_session_callback_is_signed_with_the_keys_callback_secret(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    account = await new_account(services)
    delivery = await enqueue(services, account, callback_url=receiver.url("/ok"))
    await make_worker().run_once()
    [got] = receiver.received
    assert verify(got.body, got.headers, account.callback_secret)["id"] == delivery.event_id
    assert (await stored(services, delivery.id)).status == SUCCEEDED


async def test_custom_headers_are_sent_but_sensitive_values_are_redacted_in_the_log(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    account = await new_account(services)
    custom = {"Authorization": "Bearer s3cr3t", "X-Tenant": "acme"}
    hook = await new_webhook(services, account, receiver.url("/ok"), headers=custom)
    delivery = await enqueue(services, account, webhook=hook.webhook)
    await make_worker().run_once()
    [got] = receiver.received
    assert got.header("Authorization") == "Bearer s3cr3t" and got.header("X-Tenant") == "acme"
    [attempt] = await attempts_of(services, delivery.id)
    logged = attempt.request_headers  # type: ignore[attr-defined]
    assert logged["Authorization"] == "[redacted]" and logged["X-Tenant"] == "acme"


# --- retries on a hand-driven clock ---------------------------------------------------------


async def test_500_then_200_is_two_attempts_the_second_on_the_policy_schedule(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, receiver.script("/script/a", 500))
    delivery = await enqueue(services, account, webhook=hook.webhook, now=clock())
    worker = make_worker(clock)
    await worker.run_once()
    first = await stored(services, delivery.id)
    assert (first.status, first.attempt_count, first.last_status_code) == (PENDING, 1, 500)
    assert first.next_attempt_at == clock() + timedelta(seconds=5)  # standard, zero jitter
    assert await worker.run_once() == 0  # not due yet
    clock.advance(5)
    assert await worker.run_once() == 1
    done = await stored(services, delivery.id)
    assert (done.status, done.attempt_count) == (SUCCEEDED, 2)
    attempts = await attempts_of(services, delivery.id)
    assert [a.number for a in attempts] == [1, 2]  # type: ignore[attr-defined]
    assert [a.response_status for a in attempts] == [500, 200]  # type: ignore[attr-defined]
    ids_ = {r.event_id for r in receiver.received}
    stamps = [int(r.header("X-Webhook-Timestamp") or 0) for r in receiver.received]
    assert ids_ == {delivery.event_id} and stamps[1] - stamps[0] == 5


async def test_a_failure_starts_the_endpoint_failure_clock_and_a_success_clears_it(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, receiver.script("/script/b", 500))
    await enqueue(services, account, webhook=hook.webhook, now=clock())
    worker = make_worker(clock)
    await worker.run_once()
    failing = await services.webhooks.get(account.principal, hook.webhook.id)
    assert failing.failing_since == clock()
    clock.advance(5)
    await worker.run_once()
    assert (await services.webhooks.get(account.principal, hook.webhook.id)).failing_since is None


async def test_once_policy_gives_up_after_two_and_tells_subscribers_of_delivery_exhausted(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, receiver.url("/fail"), retry_policy="once")
    watcher = await new_webhook(
        services, account, receiver.url("/ok/ops"), events=("delivery.exhausted",)
    )
    await new_webhook(services, account, receiver.url("/ok/all"))  # all events: not operational
    delivery = await enqueue(services, account, webhook=hook.webhook, now=clock())
    worker = make_worker(clock)
    await worker.run_once()
    clock.advance(5)
    await worker.run_once()
    failed = await stored(services, delivery.id)
    assert (failed.status, failed.attempt_count) == (FAILED, 2)
    assert failed.last_error == "gave up after 2 attempts; last: HTTP 500"
    await worker.run_burst()
    [notice] = receiver.at("/ok/ops")
    event = verify(notice.body, notice.headers, watcher.secret, now=clock().timestamp())
    assert event["event"] == "delivery.exhausted" and event["session_id"] is None
    assert event["data"] == {
        "webhook_id": hook.webhook.id,
        "delivery_id": delivery.id,
        "event_id": delivery.event_id,
        "event": "verification.completed",
        "attempts": 2,
        "last_status": 500,
        "last_error": None,
    }
    assert notice.header("X-Webhook-Session") is None
    assert receiver.at("/ok/all") == []


async def test_410_disables_the_endpoint_fails_its_waiting_deliveries_and_tells_subscribers(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, receiver.url("/gone"))
    watcher = await new_webhook(
        services, account, receiver.url("/ok/ops"), events=("webhook.disabled",)
    )
    gone = await enqueue(services, account, webhook=hook.webhook, now=clock())
    later = await enqueue(
        services, account, webhook=hook.webhook, now=clock() + timedelta(minutes=5)
    )
    worker = make_worker(clock)
    await worker.run_once()
    disabled = await services.webhooks.get(account.principal, hook.webhook.id)
    assert disabled.status == "disabled"
    assert disabled.disabled_reason == "the endpoint answered 410 Gone"
    assert (await stored(services, gone.id)).status == FAILED
    waiting = await stored(services, later.id)
    assert (waiting.status, waiting.last_error, waiting.attempt_count) == (
        FAILED,
        "endpoint disabled",
        0,
    )
    await worker.run_burst()
    [notice] = receiver.at("/ok/ops")
    event = verify(notice.body, notice.headers, watcher.secret, now=clock().timestamp())
    assert event["event"] == "webhook.disabled"
    assert event["data"]["webhook_id"] == hook.webhook.id
    assert event["data"]["reason"] == "the endpoint answered 410 Gone"
    assert len(receiver.at("/gone")) == 1


@pytest.mark.parametrize(("retry_after", "wait_s"), [("120", 120), ("1", 60)])
async def test_429_waits_for_retry_after_but_never_less_than_a_minute(
    services: Services, make_worker: WorkerFactory, retry_after: str, wait_s: int
) -> None:
    clock = FakeClock()
    account = await new_account(services)
    async with running_receiver(retry_after=retry_after) as busy:
        hook = await new_webhook(services, account, busy.url("/busy"))
        delivery = await enqueue(services, account, webhook=hook.webhook, now=clock())
        await make_worker(clock).run_once()
    after = await stored(services, delivery.id)
    assert after.last_status_code == 429
    assert after.next_attempt_at == clock() + timedelta(seconds=wait_s)


async def test_a_timeout_is_recorded_and_waits_at_least_a_minute(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, receiver.url("/hang"), timeout_seconds=1)
    delivery = await enqueue(services, account, webhook=hook.webhook, now=clock())
    await make_worker(clock).run_once()
    after = await stored(services, delivery.id)
    assert after.last_error == "timed out after 1.0 s" and after.last_status_code is None
    assert after.next_attempt_at == clock() + timedelta(seconds=60)
    [attempt] = await attempts_of(services, delivery.id)
    assert attempt.error == "timed out after 1.0 s"  # type: ignore[attr-defined]
    assert attempt.duration_ms >= 900  # type: ignore[attr-defined]  # it waited out the timeout


async def test_an_endpoint_whose_deliveries_all_failed_for_days_is_disabled(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, receiver.url("/fail"), retry_policy=[3600] * 20)
    await enqueue(services, account, webhook=hook.webhook, now=clock())
    worker = make_worker(clock, disable_after=timedelta(days=2))
    await worker.run_once()
    clock.advance(86400)
    await enqueue(services, account, webhook=hook.webhook, now=clock())
    await worker.run_burst()
    assert (await services.webhooks.get(account.principal, hook.webhook.id)).active
    clock.advance(86400)
    await worker.run_burst()
    disabled = await services.webhooks.get(account.principal, hook.webhook.id)
    assert disabled.status == "disabled"
    assert disabled.disabled_reason == "every delivery failed for 2 days"


async def test_a_disabled_endpoints_deliveries_are_not_sent(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    account = await new_account(services)
    hook = await new_webhook(services, account, receiver.url("/ok"))
    delivery = await enqueue(services, account, webhook=hook.webhook)
    await services.webhooks.update(account.principal, hook.webhook.id, {"status": "disabled"})
    await make_worker().run_once()
    assert receiver.received == []
    after = await stored(services, delivery.id)
    assert (after.status, after.last_error) == (FAILED, "endpoint disabled")


# --- isolation and safety --------------------------------------------------------------------


async def test_the_breaker_pauses_a_failing_endpoint_without_losing_its_deliveries(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, receiver.script("/script/c", 500, 500))
    deliveries = [
        await enqueue(services, account, webhook=hook.webhook, now=clock()) for _ in range(5)
    ]
    limits = Limits(
        per_endpoint=2, hold_max_s=30, breaker=BreakerPolicy(failure_threshold=2, base_pause_s=30)
    )
    worker = make_worker(clock, limits=limits)
    assert await worker.run_once() == 5
    assert len(receiver.received) == 2  # both failed: the breaker opened
    paused = [await stored(services, d.id) for d in deliveries]
    assert {d.status for d in paused} == {PENDING}
    assert {d.next_attempt_at for d in paused} == {clock() + timedelta(seconds=30)}
    assert sorted(d.attempt_count for d in paused) == [0, 0, 0, 1, 1]
    clock.advance(30)  # half-open: one probe; it succeeds, the breaker closes, the rest follow
    for _ in range(4):
        await worker.run_burst()
        clock.advance(5)
    assert {(await stored(services, d.id)).status for d in deliveries} == {SUCCEEDED}
    assert len(receiver.received) == 7


async def attempts_recorded(services: Services, webhook_id: str) -> int:
    async with services.db.transaction() as tx:
        found = await tx.conn.scalar(
            select(func.count())
            .select_from(
                attempt_rows.join(delivery_rows, delivery_rows.c.id == attempt_rows.c.delivery_id)
            )
            .where(delivery_rows.c.webhook_id == webhook_id)
        )
    return int(found or 0)


async def test_a_hanging_endpoint_does_not_delay_a_healthy_one(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    account = await new_account(services)
    stuck = await new_webhook(services, account, receiver.url("/hang"), timeout_seconds=30)
    healthy = await new_webhook(services, account, receiver.url("/ok"))
    for _ in range(30):
        await enqueue(services, account, webhook=stuck.webhook)
    for _ in range(5):
        await enqueue(services, account, webhook=healthy.webhook)
    worker = make_worker(concurrency=20)
    worker.start()
    try:
        # The hanging endpoint holds its slots until its 30 s timeout; the healthy one is served
        # meanwhile: all of it arrives while not one hanging attempt has ended.
        await receiver.wait_for(5, path="/ok", within=60)  # a guard against hanging only
        assert len(receiver.at("/hang")) == 10  # its cap: in flight, still unanswered
        assert await attempts_recorded(services, stuck.webhook.id) == 0
    finally:
        receiver.release.set()
        await worker.stop()


async def test_a_busy_endpoint_answering_slower_keeps_its_slots_and_no_row_is_handed_back(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    """Answers slower than FAST_ANSWER_S (as a busy worker's own loop makes every answer look)
    stop the cap's growth without taking the earned slots away: the rows already claimed for
    the endpoint go out from its line, none is handed back to be claimed again later."""
    account = await new_account(services)
    hook = await new_webhook(services, account, receiver.url("/slow"))
    worker = make_worker(concurrency=60, limits=Limits(per_endpoint=2, max_per_endpoint=30))
    receiver.slow_seconds = 0.0
    # Each batch comes due at once and is claimed together, a line forming behind the cap.
    for _ in range(20):
        await enqueue(services, account, webhook=hook.webhook)
    worker.start()
    try:
        await receiver.wait_for(20, within=60)  # fast answers with rows waiting: slots earned
        receiver.slow_seconds = 0.4  # above FAST_ANSWER_S, well below SLOW_ANSWER_S
        due = datetime.now(UTC) + timedelta(seconds=1)
        for _ in range(60):
            await enqueue(services, account, webhook=hook.webhook, now=due)
        await receiver.wait_for(80, within=60)  # a guard against hanging only
    finally:
        await worker.stop()
    assert worker.attempts_made == 80
    assert worker.rows_released == 0


async def test_dns_rebinding_is_refused_at_send_time_and_nothing_connects(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    async def rebinding_dns(
        host: str, port: int, *, family: int = 0, type: int = 0
    ) -> list[AddrInfo]:
        # Public at registration, loopback now: the answer a rebinding attacker gives.
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, f"https://rebind.example:{receiver.port}/ok")
    delivery = await enqueue(services, account, webhook=hook.webhook, now=clock())
    sender = Sender(allow_local=False, getaddrinfo=rebinding_dns)
    await make_worker(clock, sender=sender).run_once()
    assert receiver.received == []
    [attempt] = await attempts_of(services, delivery.id)
    assert attempt.error is not None and attempt.error.startswith("refused: 127.0.0.1")  # type: ignore[attr-defined]
    after = await stored(services, delivery.id)
    assert (after.status, after.attempt_count) == (PENDING, 1)


async def test_a_new_delivery_is_picked_up_at_once_not_after_a_poll(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    """SQLite: the in-process wake-up; PostgreSQL: LISTEN/NOTIFY (a wake-up of its own)."""
    wakeup = ObservedWakeup()
    if services.db.dialect == "postgresql":
        worker_wakeup = wakeup  # the services keep their own: only the NOTIFY can reach it
    else:
        services.wakeup = worker_wakeup = wakeup  # before any use case takes its ``set``
    account = await new_account(services)
    hook = await new_webhook(services, account, receiver.url("/ok"))
    worker = make_worker(poll_interval_s=3600)
    worker.wakeup = worker_wakeup
    worker.start()
    try:
        await asyncio.sleep(0)  # the worker's task starts: its listener is made before any await
        assert worker.listener is not None
        # The listener wakes the worker once connected; then the worker sleeps, nothing due.
        await asyncio.wait_for(worker.listener.connected.wait(), 30)
        await asyncio.wait_for(wakeup.blocked.wait(), 30)
        await services.deliveries.send_test(account.principal, hook.webhook.id, "liveness.passed")
        await receiver.wait_for(1, within=60)  # a hang guard: the poll would take an hour
        assert wakeup.timed_out == 0  # every wait ended by a wake-up, none by the poll
    finally:
        await worker.stop()


async def test_a_backlog_larger_than_the_concurrency_drains_without_waiting_for_a_poll(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    """Answers recorded in one group commit free their slots at once: the worker claims the
    next batch straight away instead of sleeping out the poll interval."""
    account = await new_account(services)
    hook = await new_webhook(services, account, receiver.url("/ok"))
    for _ in range(12):
        await enqueue(services, account, webhook=hook.webhook)
    worker = make_worker(concurrency=4, limits=Limits(per_endpoint=4), poll_interval_s=60)
    await asyncio.wait_for(worker.run(until_idle=True), 30)  # a poll would take 60 s
    assert len(receiver.received) == 12 and worker.attempts_made == 12


async def test_a_retry_goes_to_the_endpoints_current_url_and_the_log_says_so(
    services: Services, make_worker: WorkerFactory, receiver: Receiver
) -> None:
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, receiver.url("/fail"))
    delivery = await enqueue(services, account, webhook=hook.webhook, now=clock())
    worker = make_worker(clock)
    await worker.run_once()
    fixed = receiver.url("/ok/fixed")
    await services.webhooks.update(account.principal, hook.webhook.id, {"url": fixed})
    clock.advance(5)
    await worker.run_once()
    done = await stored(services, delivery.id)
    assert (done.status, done.target_url) == (SUCCEEDED, fixed)
    assert [r.path for r in receiver.received] == ["/fail", "/ok/fixed"]
