"""The delivery log and what an account can do with it: read, redeliver, recover, test; and
retention.

Redelivery works like Svix and Stripe: one more attempt of the same delivery (same row, same
event id, same bytes), queued now; earlier attempts stay in the log and numbering continues.
If that attempt fails, whatever is left of the retry policy applies (for a delivery that had
used it all up: nothing, it is ``failed`` again). ``recover`` does the same for every failed
delivery of an endpoint created since a time, which is how an endpoint that was down or
disabled gets its backlog once it is fixed (disabling an endpoint fails its waiting deliveries
with "endpoint disabled" rather than hiding them).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from livehook import ids
from livehook.clock import Clock, system_clock
from livehook.domain import catalog, profiles
from livehook.domain.accounts import Principal
from livehook.domain.deliveries import (
    HOUR,
    Activity,
    Attempt,
    Delivery,
    NewDelivery,
    StatusCounts,
    activity_since,
    summarize_activity,
)
from livehook.domain.event_schemas import example_for
from livehook.domain.payloads import PayloadFormat, encode_body
from livehook.domain.webhooks import Webhook
from livehook.services.errors import Conflict, InvalidRequest, NotFound
from livehook.services.idempotency import Idempotency, claim, record
from livehook.services.webhooks import WebhookService
from livehook.storage.database import Database
from livehook.storage.delivery_queue import DeliveryQueue, prune_payloads
from livehook.storage.repositories.delivery_log import DeliveryFilters, DeliveryLogRepository
from livehook.storage.repositories.sessions import SessionRepository

# Rows per retention transaction: short transactions, so workers are never held up for long.
PRUNE_BATCH_SIZE = 1000


@dataclass(frozen=True, slots=True)
class DeliveryDetail:
    delivery: Delivery
    attempts: list[Attempt]


class DeliveryService:
    def __init__(
        self,
        db: Database,
        webhooks: WebhookService,
        *,
        clock: Clock = system_clock,
        on_enqueued: Callable[[], None] = lambda: None,
        retention: timedelta = timedelta(days=30),
    ) -> None:
        self._db = db
        self._webhooks = webhooks
        self._clock = clock
        self._on_enqueued = on_enqueued
        self._retention = retention

    async def _webhook(self, principal: Principal, webhook_id: str) -> Webhook:
        return await self._webhooks.get(principal, webhook_id)

    async def list_for_webhook(
        self,
        principal: Principal,
        webhook_id: str,
        filters: DeliveryFilters,
        *,
        before: str | None = None,
        limit: int = 50,
    ) -> list[Delivery]:
        """The endpoint's deliveries, newest first (404 for another account's endpoint)."""
        await self._webhook(principal, webhook_id)
        async with self._db.read() as tx:
            return await DeliveryLogRepository(tx).list_page(
                webhook_id=webhook_id, filters=filters, before=before, limit=limit
            )

    async def status_counts(
        self, principal: Principal, webhook_id: str, windows: Sequence[timedelta]
    ) -> list[StatusCounts]:
        """The endpoint's deliveries of each of the last ``windows``, by status."""
        await self._webhook(principal, webhook_id)
        now = self._clock()
        async with self._db.read() as tx:
            counted = await DeliveryLogRepository(tx).status_counts(
                webhook_id, [now - window for window in windows]
            )
        return [
            StatusCounts(**{k: v for k, v in counts.items() if k in StatusCounts.__slots__})
            for counts in counted
        ]

    async def activity(self, principal: Principal, webhook_id: str) -> Activity:
        """The endpoint's counts for the last 24 h and 7 days and their charts, in one query."""
        await self._webhook(principal, webhook_id)
        now = self._clock()
        async with self._db.read() as tx:
            hourly = await DeliveryLogRepository(tx).bucket_counts(
                webhook_id, activity_since(now), int(HOUR.total_seconds())
            )
        return summarize_activity(hourly, now)

    async def list_for_session(
        self,
        principal: Principal,
        session_id: str,
        filters: DeliveryFilters,
        *,
        before: str | None = None,
        limit: int = 50,
    ) -> list[Delivery]:
        """A session's deliveries (webhooks and its callback), newest first; 404 for another
        account's session."""
        async with self._db.read() as tx:
            canonical = _canonical_session(session_id)
            session = await SessionRepository(tx).get(canonical, account_id=principal.account_id)
            if session is None:
                raise NotFound(f"session {session_id} not found")
            return await DeliveryLogRepository(tx).list_page(
                session_id=canonical, filters=filters, before=before, limit=limit
            )

    async def list_callbacks(
        self,
        principal: Principal,
        filters: DeliveryFilters,
        *,
        before: str | None = None,
        limit: int = 50,
    ) -> list[Delivery]:
        """Every callback of the caller's key's sessions, newest first."""
        async with self._db.read() as tx:
            return await DeliveryLogRepository(tx).list_page(
                callbacks_of_key=principal.key_id, filters=filters, before=before, limit=limit
            )

    async def list_for_account(
        self,
        principal: Principal,
        filters: DeliveryFilters,
        *,
        webhook_id: str | None = None,
        session_id: str | None = None,
        before: str | None = None,
        limit: int = 50,
    ) -> list[Delivery]:
        """The account's deliveries (of one endpoint or one session), newest first."""
        if webhook_id is not None:
            return await self.list_for_webhook(
                principal, webhook_id, filters, before=before, limit=limit
            )
        if session_id is not None:
            return await self.list_for_session(
                principal, session_id, filters, before=before, limit=limit
            )
        async with self._db.read() as tx:
            return await DeliveryLogRepository(tx).list_page(
                account_id=principal.account_id, filters=filters, before=before, limit=limit
            )

    async def get(self, principal: Principal, delivery_id: str) -> DeliveryDetail:
        async with self._db.read() as tx:
            repo = DeliveryLogRepository(tx)
            delivery = await repo.get(delivery_id, account_id=principal.account_id)
            if delivery is None:
                raise NotFound(f"delivery {delivery_id} not found")
            return DeliveryDetail(delivery, await repo.attempts(delivery_id))

    async def redeliver(
        self,
        principal: Principal,
        delivery_id: str,
        *,
        idempotency: Idempotency[Delivery] | None = None,
    ) -> Delivery:
        now = self._clock()
        async with self._db.transaction() as tx:
            if idempotency is not None:
                await claim(tx, principal.account_id, idempotency, now)
            repo = DeliveryLogRepository(tx)
            current = await repo.get(delivery_id, account_id=principal.account_id)
            if current is None:
                raise NotFound(f"delivery {delivery_id} not found")
            if current.webhook_id is not None:
                webhook = await self._webhooks.repository(tx).get_any(current.webhook_id)
                if webhook is not None and not webhook.active:
                    raise Conflict(f"webhook {webhook.id} is disabled: enable it, then redeliver")
            outcome = await DeliveryQueue(tx).redeliver(delivery_id, now=now)
            if outcome == "pruned":
                raise Conflict(
                    f"delivery {delivery_id} cannot be redelivered: its payload was pruned by "
                    "the retention period"
                )
            if outcome == "in_flight":
                raise Conflict(f"delivery {delivery_id} is being attempted right now")
            delivery = await repo.get(delivery_id)
            assert delivery is not None
            if idempotency is not None:
                await record(tx, principal.account_id, idempotency, delivery)
        self._on_enqueued()
        return delivery

    async def recover(
        self,
        principal: Principal,
        webhook_id: str,
        since: datetime,
        *,
        idempotency: Idempotency[int] | None = None,
    ) -> int:
        """Queue again every failed delivery of the endpoint created since ``since``."""
        webhook = await self._webhook(principal, webhook_id)
        if not webhook.active:
            raise Conflict(f"webhook {webhook_id} is disabled: enable it, then recover")
        now = self._clock()
        if since > now:
            raise InvalidRequest("since must not be in the future", field="since")
        async with self._db.transaction() as tx:
            if idempotency is not None:
                await claim(tx, principal.account_id, idempotency, now)
            count = await DeliveryQueue(tx).recover(webhook_id, since=since, now=now)
            if idempotency is not None:
                await record(tx, principal.account_id, idempotency, count)
        if count:
            self._on_enqueued()
        return count

    async def send_test(
        self,
        principal: Principal,
        webhook_id: str,
        event_type: str,
        *,
        idempotency: Idempotency[Delivery] | None = None,
    ) -> Delivery:
        """A signed example of ``event_type`` to this endpoint only, marked as a test in the
        body (``"test": true``) and the headers (``X-Webhook-Test: true``), logged like any
        other delivery."""
        if event_type not in catalog.EVENT_TYPES:
            raise InvalidRequest(
                f"unknown event type {event_type!r}; known: {', '.join(catalog.EVENT_TYPES)}",
                field="event_type",
            )
        webhook = await self._webhook(principal, webhook_id)
        if not webhook.active:
            raise Conflict(f"webhook {webhook_id} is disabled: enable it to send a test event")
        profile = profiles.get(webhook.wire_profile)
        if not profile.carries(event_type):
            raise InvalidRequest(
                f"the {profile.name} wire profile does not send {event_type}; it sends: "
                + ", ".join(dict.fromkeys(profile.event_names)),
                field="event_type",
            )
        now = self._clock()
        fmt: PayloadFormat = "thin" if webhook.payload_format == "thin" else "full"
        example = example_for(event_type, "full")
        data = example["data"]
        event_id = ids.new_id("evt")
        payload = profiles.build_body(
            profile,
            fmt=fmt,
            event_id=event_id,
            event_type=event_type,
            session_id=example["session_id"],
            occurred_at=now,
            data=data,
            test=True,
        )
        model = data.get("model") if isinstance(data.get("model"), str) else None
        new = NewDelivery(
            id=ids.new_id("dlv"),
            account_id=webhook.account_id,
            event_id=event_id,
            webhook_id=webhook.id,
            api_key_id=webhook.api_key_id,
            session_id=example["session_id"],
            target_url=webhook.url,
            event_type=event_type,
            model=model,
            payload_format=fmt,
            signature_scheme=webhook.signature_scheme,
            request_body=encode_body(payload).decode(),
            is_test=True,
            wire_profile=profile.name,
        )
        async with self._db.transaction() as tx:
            if idempotency is not None:
                await claim(tx, principal.account_id, idempotency, now)
            await DeliveryLogRepository(tx).add_event(
                event_id=event_id,
                account_id=webhook.account_id,
                event_type=event_type,
                data=data,
                is_test=True,
                created_at=now,
            )
            await DeliveryQueue(tx).enqueue([new], now=now)
            delivery = await DeliveryLogRepository(tx).get(new.id)
            assert delivery is not None
            if idempotency is not None:
                await record(tx, principal.account_id, idempotency, delivery)
        self._on_enqueued()
        return delivery

    async def prune(self, *, batch_size: int = PRUNE_BATCH_SIZE) -> int:
        """Retention: drop payloads older than the retention period."""
        now = self._clock()
        return await prune_payloads(
            self._db, older_than=now - self._retention, now=now, batch_size=batch_size
        )


def _canonical_session(session_id: str) -> str:
    """The stored spelling of a session id; anything that is not a UUID matches nothing."""
    try:
        return str(uuid.UUID(session_id))
    except ValueError:
        return session_id
