"""Deliveries written straight to the database, a clock tests move by hand, a wake-up whose
waiter a test can see, and a worker."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from livehook import ids
from livehook.delivery.config import WorkerConfig
from livehook.delivery.limits import Limits
from livehook.delivery.sender import Sender
from livehook.delivery.worker import Worker
from livehook.domain.accounts import Principal
from livehook.domain.deliveries import PENDING, Delivery
from livehook.domain.event_schemas import example_for
from livehook.domain.payloads import PayloadFormat, build_payload, encode_body
from livehook.domain.retry import RetryPolicy
from livehook.domain.webhooks import Webhook
from livehook.services.registry import Services
from livehook.storage.delivery_queue import body_id, delivery_values
from livehook.storage.repositories.delivery_log import DeliveryLogRepository
from livehook.storage.tables import deliveries, delivery_bodies
from livehook.storage.wakeup import Wakeup


class ObservedWakeup(Wakeup):
    """The worker's real wake-up, which also shows when its waiter is blocked (``blocked``: in
    ``wait`` with nothing pending) and how many waits ended by the poll interval running out
    (``timed_out``): a test sends once the worker sleeps, instead of sleeping a guessed while."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked = asyncio.Event()
        self.timed_out = 0

    def set(self) -> None:
        self.blocked.clear()
        super().set()

    async def wait(self, timeout: float) -> bool:  # noqa: ASYNC109 -- the poll interval
        if not self._pending:  # a set before the wait returns it at once: not blocked
            self.blocked.set()
        try:
            woken = await super().wait(timeout)
        finally:
            self.blocked.clear()
        if not woken:
            self.timed_out += 1
        return woken


class FakeClock:
    """Stands still until ``advance``: retries are tested without sleeping through them."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass(frozen=True)
class TestAccount:
    __test__ = False  # not a test class, whatever its name

    principal: Principal
    key: str
    callback_secret: str


async def new_account(services: Services, name: str = "acme") -> TestAccount:
    created = await services.keys.create(account_name=name, name="default")
    principal = await services.keys.authenticate(created.plaintext)
    assert principal is not None
    return TestAccount(principal, created.plaintext, created.callback_secret)


@dataclass(frozen=True)
class Hook:
    webhook: Webhook
    secret: str


async def new_webhook(
    services: Services,
    account: TestAccount,
    url: str,
    *,
    events: tuple[str, ...] = (),
    model: str | None = None,
    payload_format: str = "full",
    signature_scheme: str = "hmac-sha256",
    retry_policy: str | list[int] = "standard",
    timeout_seconds: int = 5,
    headers: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> Hook:
    """Inserted directly: no URL check (tests aim at 127.0.0.1 and at fake names)."""
    when = now or datetime.now(UTC)
    webhook = Webhook(
        id=ids.new_id("wh"),
        account_id=account.principal.account_id,
        api_key_id=account.principal.key_id,
        url=url,
        description="",
        events=events,
        model=model,
        payload_format=payload_format,
        signature_scheme=signature_scheme,
        retry_policy=RetryPolicy.parse(retry_policy).to_json(),
        timeout_seconds=timeout_seconds,
        headers=dict(headers or {}),
        status="active",
        disabled_reason=None,
        disabled_at=None,
        failing_since=None,
        created_at=when,
        updated_at=when,
    )
    secret = ids.new_signing_secret()
    encrypted_headers = services.box.encrypt(json.dumps(dict(headers))) if headers else None
    async with services.db.transaction() as tx:
        repo = services.webhooks.repository(tx)
        await repo.add(webhook, headers_encrypted=encrypted_headers)
        await repo.add_secret(ids.new_id("whs"), webhook.id, services.box.encrypt(secret), when)
    return Hook(webhook, secret)


async def enqueue(
    services: Services,
    account: TestAccount,
    *,
    webhook: Webhook | None = None,
    callback_url: str | None = None,
    event_type: str = "verification.completed",
    now: datetime | None = None,
    created_at: datetime | None = None,
) -> Delivery:
    """An event and its one pending delivery, as the fan-out writes them."""
    when = now or datetime.now(UTC)
    fmt: PayloadFormat = "thin" if webhook and webhook.payload_format == "thin" else "full"
    event_id = ids.new_id("evt")
    session_id = str(uuid.uuid4())
    data: dict[str, Any] = example_for(event_type, "full")["data"]
    payload = build_payload(
        fmt=fmt,
        event_id=event_id,
        event_type=event_type,
        session_id=session_id,
        occurred_at=when,
        data=data,
    )
    delivery = Delivery(
        id=ids.new_id("dlv"),
        account_id=account.principal.account_id,
        event_id=event_id,
        webhook_id=webhook.id if webhook else None,
        api_key_id=account.principal.key_id,
        session_id=session_id,
        target_url=webhook.url if webhook else str(callback_url),
        event_type=event_type,
        model=data.get("model"),
        payload_format=fmt,
        signature_scheme=webhook.signature_scheme if webhook else "hmac-sha256",
        is_test=False,
        status=PENDING,
        attempt_count=0,
        next_attempt_at=when,
        request_body=encode_body(payload).decode(),
        payload_pruned_at=None,
        last_status_code=None,
        last_error=None,
        created_at=created_at or when,
        updated_at=when,
        completed_at=None,
    )
    async with services.db.transaction() as tx:
        await DeliveryLogRepository(tx).add_event(
            event_id=event_id,
            account_id=delivery.account_id,
            event_type=event_type,
            data=data,
            is_test=False,
            created_at=when,
        )
        # Straight in, with the due and creation times the test asks for.
        body = delivery.request_body or ""
        await tx.conn.execute(insert(delivery_bodies).values(id=body_id(body), body=body))
        await tx.conn.execute(
            insert(deliveries).values(delivery_values(delivery, lease_token=None))
        )
    return delivery


async def stored(services: Services, delivery_id: str) -> Delivery:
    async with services.db.transaction() as tx:
        found = await DeliveryLogRepository(tx).get(delivery_id)
    assert found is not None
    return found


class WorkerFactory:
    """Builds workers over the test's services and closes their senders at teardown."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._workers: list[Worker] = []

    def __call__(
        self,
        clock: FakeClock | None = None,
        *,
        sender: Sender | None = None,
        rand: float = 0.5,
        concurrency: int = 50,
        limits: Limits | None = None,
        disable_after: timedelta = timedelta(days=5),
        poll_interval_s: float = 1.0,
    ) -> Worker:
        """A worker; ``rand`` 0.5 makes the retry jitter zero."""
        config = WorkerConfig(
            concurrency=concurrency,
            limits=limits or Limits(),
            disable_after=disable_after,
            retention=None,
            poll_interval_s=poll_interval_s,
        )
        kwargs: dict[str, Any] = {"clock": clock} if clock is not None else {}
        worker = Worker(
            self._services.db,
            self._services.webhooks,
            self._services.box,
            sender or Sender(allow_local=True),
            config=config,
            rand=lambda: rand,
            wakeup=self._services.wakeup,
            **kwargs,
        )
        self._workers.append(worker)
        return worker

    async def close(self) -> None:
        for worker in self._workers:
            await worker.stop()
            await worker.close()
