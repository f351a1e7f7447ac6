"""The queue in the database (``storage/delivery_queue.py``), on SQLite and PostgreSQL: claims
with leases, guarded writes, releases, retention."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text

from livehook import ids
from livehook.domain.deliveries import FAILED, PENDING, SUCCEEDED, Attempt
from livehook.services.registry import Services
from livehook.storage.delivery_queue import (
    DeliveryQueue,
    Lease,
    NewDelivery,
    Outcome,
    Release,
    prune_payloads,
)
from livehook.storage.repositories.delivery_log import DeliveryLogRepository
from livehook.storage.tables import deliveries, delivery_bodies
from tests.support.deliveries import FakeClock, enqueue, new_account, new_webhook, stored

LEASE = timedelta(seconds=90)


async def claim(services: Services, clock: FakeClock, token: str, limit: int = 10) -> list[str]:
    async with services.db.transaction() as tx:
        rows = await DeliveryQueue(tx).claim(
            Lease(token, clock() + LEASE), now=clock(), limit=limit
        )
    return [r.id for r in rows]


def outcome(
    delivery_id: str, token: str, clock: FakeClock, *, status: int = 200, number: int = 1
) -> Outcome:
    """Attempt ``number`` of the delivery answered ``status`` and succeeded."""
    return Outcome(
        delivery_id=delivery_id,
        token=token,
        status=SUCCEEDED,
        attempt_count=number,
        next_attempt_at=None,
        last_status_code=status,
        last_error=None,
        signature_scheme="hmac-sha256",
        target_url="http://127.0.0.1:9/x",
        at=clock(),
        attempt=Attempt(
            id=ids.new_id("att"),
            delivery_id=delivery_id,
            number=number,
            started_at=clock(),
            duration_ms=1.5,
            request_headers={"X-Token": token},
            response_status=status,
            response_headers={"Content-Type": "text/plain"},
            response_body="ok",
            error=None,
            next_attempt_at=None,
        ),
    )


async def finish(services: Services, delivery_id: str, token: str, clock: FakeClock) -> bool:
    async with services.db.transaction() as tx:
        written = await DeliveryQueue(tx).finish([outcome(delivery_id, token, clock)])
    return written == {delivery_id}


async def lease_of(services: Services, delivery_id: str) -> tuple[str | None, datetime | None]:
    async with services.db.read() as tx:
        row = (
            await tx.conn.execute(
                select(deliveries.c.lease_token, deliveries.c.lease_expires_at).where(
                    deliveries.c.id == delivery_id
                )
            )
        ).one()
    return row.lease_token, row.lease_expires_at


async def attempts_of(services: Services, delivery_id: str) -> list[Attempt]:
    async with services.db.read() as tx:
        return await DeliveryLogRepository(tx).attempts(delivery_id)


async def test_claim_leases_due_rows_oldest_first_and_only_once(services: Services) -> None:
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, "http://127.0.0.1:9/x")
    early = await enqueue(services, account, webhook=hook.webhook, now=clock() - timedelta(1))
    late = await enqueue(services, account, webhook=hook.webhook, now=clock())
    future = await enqueue(services, account, webhook=hook.webhook, now=clock() + timedelta(1))
    assert await claim(services, clock, "a" * 32, limit=1) == [early.id]
    assert await claim(services, clock, "b" * 32) == [late.id]
    assert await claim(services, clock, "c" * 32) == []
    leased = await stored(services, early.id)
    assert leased.status == PENDING and leased.next_attempt_at == clock() + LEASE
    assert await lease_of(services, early.id) == ("a" * 32, clock() + LEASE)
    assert (await stored(services, future.id)).next_attempt_at == future.next_attempt_at


async def test_a_row_whose_lease_ended_is_claimed_again_and_the_old_holder_cannot_write(
    services: Services,
) -> None:
    """The production path: claim, lose the lease to a second claim after it expired, finish
    with the stale lease (before and after the second worker's finish): nothing of the stale
    attempt is written, and the second worker's result is kept."""
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, "http://127.0.0.1:9/x")
    delivery = await enqueue(services, account, webhook=hook.webhook, now=clock())
    first, second = "first".ljust(32, "0"), "second".ljust(32, "0")
    assert await claim(services, clock, first) == [delivery.id]
    clock.advance(LEASE.total_seconds())
    assert await claim(services, clock, second) == [delivery.id]
    assert await finish(services, delivery.id, first, clock) is False
    assert (await stored(services, delivery.id)).status == PENDING
    assert await attempts_of(services, delivery.id) == []
    async with services.db.transaction() as tx:
        kept = outcome(delivery.id, second, clock, status=204)
        assert await DeliveryQueue(tx).finish([kept]) == {delivery.id}
    clock.advance(1)
    assert await finish(services, delivery.id, first, clock) is False
    after = await stored(services, delivery.id)
    assert (after.status, after.last_status_code, after.completed_at) == (
        SUCCEEDED,
        204,
        kept.at,
    )
    assert await attempts_of(services, delivery.id) == [kept.attempt]
    assert await lease_of(services, delivery.id) == (None, None)


async def test_a_retry_is_written_as_given_and_comes_due_at_its_exact_time(
    services: Services,
) -> None:
    """A failed attempt's outcome and attempt are stored as given (times to the microsecond, no
    response headers, an error with quotes and non-ASCII text), and the row comes due neither a
    microsecond before its retry time nor later."""
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, "http://127.0.0.1:9/x")
    delivery = await enqueue(services, account, webhook=hook.webhook, now=clock())
    token = "t".ljust(32, "0")
    assert await claim(services, clock, token) == [delivery.id]
    retry_at = clock() + timedelta(seconds=2, microseconds=123_457)
    base = outcome(delivery.id, token, clock)
    error = 'connect failed: "refusé" \\ ✓'
    attempt = Attempt(
        id=ids.new_id("att"),
        delivery_id=delivery.id,
        number=1,
        started_at=clock() + timedelta(microseconds=7),
        duration_ms=12.345,
        request_headers={"X-Token": token, "X-Note": 'a "quoted" value'},
        response_status=None,
        response_headers=None,
        response_body=None,
        error=error,
        next_attempt_at=retry_at,
    )
    failed = Outcome(
        delivery_id=delivery.id,
        token=token,
        status=PENDING,
        attempt_count=1,
        next_attempt_at=retry_at,
        last_status_code=None,
        last_error=error,
        signature_scheme=base.signature_scheme,
        target_url=base.target_url,
        at=clock() + timedelta(microseconds=9),
        attempt=attempt,
    )
    async with services.db.transaction() as tx:
        assert await DeliveryQueue(tx).finish([failed]) == {delivery.id}
    assert await attempts_of(services, delivery.id) == [attempt]
    row = await stored(services, delivery.id)
    assert (row.status, row.next_attempt_at, row.last_error) == (PENDING, retry_at, error)
    assert (row.updated_at, row.completed_at) == (failed.at, None)
    assert await lease_of(services, delivery.id) == (None, None)
    clock.now = retry_at - timedelta(microseconds=1)
    async with services.db.read() as tx:
        assert await DeliveryQueue(tx).any_due(now=clock()) is False
    assert await claim(services, clock, "u".ljust(32, "0")) == []
    clock.now = retry_at
    async with services.db.read() as tx:
        assert await DeliveryQueue(tx).any_due(now=clock()) is True
    assert await claim(services, clock, "v".ljust(32, "0")) == [delivery.id]


async def test_concurrent_claims_never_hand_out_a_row_twice(services: Services) -> None:
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, "http://127.0.0.1:9/x")
    for _ in range(40):
        await enqueue(services, account, webhook=hook.webhook, now=clock())
    batches = await asyncio.gather(
        *(claim(services, clock, f"t{i}".ljust(32, "0"), limit=7) for i in range(8))
    )
    claimed = [delivery_id for batch in batches for delivery_id in batch]
    assert len(claimed) == len(set(claimed)) == 40


async def test_a_batch_of_outcomes_writes_only_the_rows_whose_lease_it_still_holds(
    services: Services,
) -> None:
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, "http://127.0.0.1:9/x")
    kept, lost = [await enqueue(services, account, webhook=hook.webhook, now=clock()) for _ in "ab"]
    first, second = "first".ljust(32, "0"), "second".ljust(32, "0")
    assert sorted(await claim(services, clock, first)) == sorted([kept.id, lost.id])
    async with services.db.transaction() as tx:  # another worker took one row over
        await tx.conn.execute(
            text("UPDATE deliveries SET lease_token = :t WHERE id = :id"),
            {"t": second, "id": lost.id},
        )
    async with services.db.transaction() as tx:
        written = await DeliveryQueue(tx).finish(
            [outcome(kept.id, first, clock), outcome(lost.id, first, clock)]
        )
    assert written == {kept.id}
    assert len(await attempts_of(services, kept.id)) == 1
    assert await attempts_of(services, lost.id) == []
    done, taken = await stored(services, kept.id), await stored(services, lost.id)
    assert (done.status, done.attempt_count, done.completed_at) == (SUCCEEDED, 1, clock())
    assert (taken.status, taken.attempt_count) == (PENDING, 0)


async def test_release_makes_a_row_due_again_without_counting_an_attempt(
    services: Services,
) -> None:
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, "http://127.0.0.1:9/x")
    delivery = await enqueue(services, account, webhook=hook.webhook, now=clock())
    token = "r".ljust(32, "0")
    await claim(services, clock, token)
    at = clock() + timedelta(seconds=3)
    async with services.db.transaction() as tx:
        await DeliveryQueue(tx).release([Release(delivery.id, token, at)], now=clock())
    released = await stored(services, delivery.id)
    assert released.next_attempt_at == at and released.attempt_count == 0
    clock.advance(3)
    assert await claim(services, clock, "s".ljust(32, "0")) == [delivery.id]


async def test_claim_reads_the_partial_due_index(services: Services) -> None:
    """The claim's cost follows the batch, not the backlog: it must use ix_deliveries_due."""
    clock = FakeClock()
    sql = (
        "SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= :now "
        "AND (lease_expires_at IS NULL OR lease_expires_at <= :now) "
        "ORDER BY next_attempt_at LIMIT 10"
    )
    async with services.db.transaction() as tx:
        if tx.dialect == "postgresql":
            await tx.conn.execute(text("SET LOCAL enable_seqscan = off"))
            plan = await tx.conn.execute(text("EXPLAIN " + sql), {"now": clock()})
        else:
            plan = await tx.conn.execute(
                text("EXPLAIN QUERY PLAN " + sql), {"now": clock().replace(tzinfo=None)}
            )
        lines: list[Any] = [str(tuple(row)) for row in plan]
    assert any("ix_deliveries_due" in line for line in lines), lines


async def test_prune_drops_old_payloads_in_batches_keeps_attempt_counts_and_fails_waiting_rows(
    services: Services,
) -> None:
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, "http://127.0.0.1:9/x")
    old = clock() - timedelta(days=31)
    done = [
        await enqueue(services, account, webhook=hook.webhook, now=old, created_at=old)
        for _ in range(5)
    ]
    waiting = await enqueue(services, account, webhook=hook.webhook, now=clock(), created_at=old)
    fresh = await enqueue(services, account, webhook=hook.webhook, now=clock())
    token = "p".ljust(32, "0")
    for delivery in done:
        async with services.db.transaction() as tx:
            await tx.conn.execute(
                text("UPDATE deliveries SET lease_token = :t WHERE id = :id"),
                {"t": token, "id": delivery.id},
            )
        assert await finish(services, delivery.id, token, clock)
    pruned = await prune_payloads(
        services.db, older_than=clock() - timedelta(days=30), now=clock(), batch_size=2
    )
    assert pruned == 6
    for delivery in done:
        after = await stored(services, delivery.id)
        assert after.request_body is None and after.payload_pruned_at == clock()
        assert after.status == SUCCEEDED and after.attempt_count == 1
    expired = await stored(services, waiting.id)
    assert expired.status == FAILED and expired.request_body is None
    assert "retention" in (expired.last_error or "")
    assert (await stored(services, fresh.id)).request_body == fresh.request_body


async def test_a_row_whose_worker_died_comes_back_once_its_lease_ends(services: Services) -> None:
    """kill -9 of a worker: nothing hands its rows back. They are in flight (redeliver refuses)
    until the lease's end, then a claim takes them again."""
    clock = FakeClock()
    account = await new_account(services)
    hook = await new_webhook(services, account, "http://127.0.0.1:9/x")
    delivery = await enqueue(services, account, webhook=hook.webhook, now=clock())
    assert await claim(services, clock, "dead".ljust(32, "0")) == [delivery.id]
    clock.advance(LEASE.total_seconds() - 1)
    assert await claim(services, clock, "early".ljust(32, "0")) == []
    async with services.db.transaction() as tx:
        assert await DeliveryQueue(tx).redeliver(delivery.id, now=clock()) == "in_flight"
    clock.advance(1)
    assert await claim(services, clock, "later".ljust(32, "0")) == [delivery.id]
    assert await lease_of(services, delivery.id) == ("later".ljust(32, "0"), clock() + LEASE)


async def body_count(services: Services) -> int:
    async with services.db.read() as tx:
        return len((await tx.conn.execute(select(delivery_bodies.c.id))).all())


async def test_a_body_is_stored_once_and_dropped_once_no_delivery_needs_it(
    services: Services,
) -> None:
    """A fan-out of one event to several endpoints writes its bytes once; each delivery still
    shows (and would send) exactly them; retention drops the body with the last row that
    needs it."""
    clock = FakeClock()
    old = clock() - timedelta(days=31)
    account = await new_account(services)
    hooks = [await new_webhook(services, account, f"http://127.0.0.1:9/{n}") for n in range(3)]
    first = await enqueue(services, account, webhook=hooks[0].webhook, now=old)
    assert first.request_body is not None
    thin = first.request_body.replace("{", '{"thin":1,', 1)  # another format's bytes
    rows = [
        NewDelivery(
            id=ids.new_id("dlv"),
            account_id=first.account_id,
            event_id=first.event_id,
            webhook_id=hook.webhook.id,
            api_key_id=first.api_key_id,
            session_id=first.session_id,
            target_url=hook.webhook.url,
            event_type=first.event_type,
            model=first.model,
            payload_format=fmt,
            signature_scheme="hmac-sha256",
            request_body=body,
        )
        for hook, fmt, body in (
            (hooks[1], "full", first.request_body),
            (hooks[2], "full", first.request_body),
            (hooks[2], "thin", thin),
        )
    ]
    async with services.db.transaction() as tx:  # the thin one later: pruned last
        assert await DeliveryQueue(tx).enqueue(rows[:2], now=old) == 2
        assert await DeliveryQueue(tx).enqueue(rows[2:], now=old + timedelta(seconds=1)) == 1
    assert await body_count(services) == 2
    for row in rows:
        assert (await stored(services, row.id)).request_body == row.request_body
    async with services.db.transaction() as tx:
        pruned = await DeliveryQueue(tx).prune(older_than=clock(), now=clock(), limit=2)
    assert pruned == 2 and await body_count(services) == 2  # a full row and the thin one left
    assert await prune_payloads(services.db, older_than=clock(), now=clock(), batch_size=2) == 2
    assert await body_count(services) == 0
    for delivery_id in (first.id, *(row.id for row in rows)):
        assert (await stored(services, delivery_id)).request_body is None


async def test_enqueue_writes_every_field_as_given_and_the_row_due_now(services: Services) -> None:
    """The rows go in as one statement over arrays (JSON rows on SQLite): each field of each
    row lands in its own column, NULLs and booleans included, and the time to the microsecond."""
    clock = FakeClock()
    now = clock() + timedelta(microseconds=123457)
    account = await new_account(services)
    hook = await new_webhook(services, account, "http://127.0.0.1:9/h")
    template = await enqueue(services, account, webhook=hook.webhook, now=clock())
    assert template.request_body is not None
    rows = [
        NewDelivery(
            id=ids.new_id("dlv"),
            account_id=template.account_id,
            event_id=template.event_id,
            webhook_id=webhook_id,
            api_key_id=template.api_key_id,
            session_id=session_id,
            target_url=url,
            event_type=template.event_type,
            model=model,
            payload_format=fmt,
            signature_scheme=scheme,
            request_body=body,
            is_test=is_test,
            wire_profile=profile,
        )
        for webhook_id, session_id, url, model, fmt, scheme, body, is_test, profile in (
            (hook.webhook.id, None, hook.webhook.url, None, "full", "hmac-sha256",
             template.request_body, True, "livehook"),
            (None, template.session_id, "https://cb.example/x?a=1", template.model, "thin",
             "standard-webhooks", '{"é":"ü"}', False, "verifyyou"),
        )
    ]  # fmt: skip
    async with services.db.transaction() as tx:
        assert await DeliveryQueue(tx).enqueue(rows, now=now) == 2
    for row in rows:
        got = await stored(services, row.id)
        assert {name: getattr(got, name) for name in row.__dataclass_fields__} == {
            name: getattr(row, name) for name in row.__dataclass_fields__
        }
        assert (got.status, got.attempt_count, got.completed_at) == (PENDING, 0, None)
        assert got.created_at == got.updated_at == got.next_attempt_at == now
        assert await lease_of(services, row.id) == (None, None)
