"""The outbox fan-out: an event and one pending delivery per recipient, in the caller's transaction.

Whoever changes something that emits an event calls `emit` inside the transaction that makes the
change, so the change, the event and its deliveries commit together or not at all: a crash can
never leave an event that nobody will send. The delivery worker sends the rows later.

Recipients of an event:
- each candidate webhook that wants it (`catalog.webhook_wants`: its event types and model);
  for session events the candidates are the active webhooks of the session's API key, for
  operational events (`webhook.disabled`, `delivery.exhausted`) the account's active webhooks,
  which receive them only if they name them;
- the session's `callback_url`, for the outcome (`verification.completed` or
  `verification.failed`) only, in the session's `callback_format`, signed `hmac-sha256` with the
  API key's callback secret (the delivery has no webhook).

Each body is built once per (event, format) and stored as the exact text the worker signs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from livehook import metrics, tracing
from livehook.domain import payloads
from livehook.domain.catalog import webhook_wants
from livehook.domain.sessions import CALLBACK_EVENT_TYPES, Event, Session
from livehook.domain.webhooks import Webhook
from livehook.services import ids
from livehook.storage.db import Transaction
from livehook.storage.repositories.events import EventRepository
from livehook.storage.repositories.outbox import NewDelivery, OutboxRepository

CALLBACK_SIGNATURE_SCHEME = "hmac-sha256"


class FanOut(Protocol):
    """The shape of `fan_out`; services take one so tests can make it fail half-way."""

    async def __call__(
        self,
        tx: Transaction,
        events: Sequence[Event],
        *,
        candidates: Sequence[Webhook],
        session: Session | None = None,
        now: datetime,
    ) -> int: ...


def _body_builder(event: Event) -> Callable[[payloads.PayloadFormat], str]:
    built: dict[str, str] = {}

    def body(fmt: payloads.PayloadFormat) -> str:
        if fmt not in built:
            payload = payloads.build_payload(
                fmt=fmt,
                event_id=event.id,
                event_type=event.type,
                session_id=event.session_id,
                occurred_at=event.created_at,
                data=event.data,
                test=event.is_test,
            )
            built[fmt] = payloads.encode_body(payload).decode()
        return built[fmt]

    return body


def _format(value: str) -> payloads.PayloadFormat:
    return "thin" if value == "thin" else "full"


def recipients(
    event: Event, *, candidates: Sequence[Webhook], session: Session | None = None
) -> list[NewDelivery]:
    """One pending delivery of `event` per recipient, each with the exact body it will carry."""
    body = _body_builder(event)
    rows = [
        NewDelivery(
            id=ids.new_id("dlv"),
            account_id=event.account_id,
            event_id=event.id,
            webhook_id=webhook.id,
            api_key_id=webhook.api_key_id,
            session_id=event.session_id,
            target_url=webhook.url,
            event_type=event.type,
            model=event.model,
            payload_format=webhook.payload_format,
            signature_scheme=webhook.signature_scheme,
            request_body=body(_format(webhook.payload_format)),
            is_test=event.is_test,
        )
        for webhook in candidates
        if webhook.active
        and webhook.account_id == event.account_id
        and webhook_wants(event.type, webhook.events, webhook.model, event.model)
    ]
    if session is not None and session.callback_url and event.type in CALLBACK_EVENT_TYPES:
        rows.append(
            NewDelivery(
                id=ids.new_id("dlv"),
                account_id=event.account_id,
                event_id=event.id,
                webhook_id=None,
                api_key_id=session.api_key_id,
                session_id=session.id,
                target_url=session.callback_url,
                event_type=event.type,
                model=event.model,
                payload_format=session.callback_format,
                signature_scheme=CALLBACK_SIGNATURE_SCHEME,
                request_body=body(_format(session.callback_format)),
                is_test=event.is_test,
            )
        )
    return rows


async def fan_out(
    tx: Transaction,
    events: Sequence[Event],
    *,
    candidates: Sequence[Webhook],
    session: Session | None = None,
    now: datetime,
) -> int:
    """Enqueue one pending delivery per recipient of each of `events` (already stored), in one
    statement and with one notification however many there are; returns how many."""
    per_event = [recipients(event, candidates=candidates, session=session) for event in events]
    for event_rows in per_event:
        metrics.FANOUT.observe(len(event_rows))
    rows = [row for event_rows in per_event for row in event_rows]
    outbox = OutboxRepository(tx)
    await outbox.enqueue(rows, now=now)
    if rows:
        await outbox.notify()
    return len(rows)


async def emit(
    tx: Transaction,
    events: Sequence[Event],
    *,
    candidates: Sequence[Webhook],
    session: Session | None = None,
    now: datetime,
    fan_out: FanOut = fan_out,
) -> int:
    """Store `events` and fan them out; returns the number of deliveries enqueued."""
    origin = tracing.current_carrier()
    await EventRepository(tx).add_many(events, trace_context=json.dumps(origin) if origin else None)
    return await fan_out(tx, events, candidates=candidates, session=session, now=now)
