"""The outbox fan-out: an event and one pending delivery per recipient, in the caller's transaction.

Whoever changes something that emits an event calls `emit` inside the transaction that makes the
change, so the change, the event and its deliveries commit together or not at all: a crash can
never leave an event that nobody will send. The delivery worker sends the rows later.

Recipients of an event:
- each candidate webhook that wants it (`WireProfile.wants`: its profile, event types, model);
  for session events the candidates are the active webhooks of the session's API key, for
  operational events (`webhook.disabled`, `delivery.exhausted`) the account's active webhooks,
  which receive them only if they name them;
- the session's `callback_url`, for every way the session ends (`verification.completed`,
  `verification.failed`, `liveness.cancelled`: the callback profile's `callback_events`), in
  the session's `callback_profile` and `callback_format`, signed with the API key's callback
  secret (the delivery has no webhook).

Each body is built once per (event, profile, format) and stored as the exact text the worker
signs; the delivery keeps its profile, so every attempt's headers match its body.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from livehook import ids, metrics
from livehook.domain import payloads, profiles
from livehook.domain.deliveries import NewDelivery
from livehook.domain.sessions import Event, Session
from livehook.domain.webhooks import Webhook
from livehook.storage.database import Transaction
from livehook.storage.delivery_queue import DeliveryQueue
from livehook.storage.repositories.events import EventRepository


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


def _body_builder(
    event: Event, session: Session | None
) -> Callable[[profiles.WireProfile, str], str]:
    """Bodies of `event`, built once per (profile, format) however many recipients share one."""
    built: dict[tuple[str, str], str] = {}
    facts = (
        profiles.SessionFacts(session.external_id, session.external_tracker, session.trust_score)
        if session is not None
        else None
    )

    def body(profile: profiles.WireProfile, fmt: str) -> str:
        shape: payloads.PayloadFormat = "thin" if fmt == "thin" else "full"
        key = (profile.name, shape)
        if key not in built:
            payload = profiles.build_body(
                profile,
                fmt=shape,
                event_id=event.id,
                event_type=event.type,
                session_id=event.session_id,
                occurred_at=event.created_at,
                data=event.data,
                facts=facts,
                test=event.is_test,
            )
            built[key] = payloads.encode_body(payload).decode()
        return built[key]

    return body


def recipients(
    event: Event, *, candidates: Sequence[Webhook], session: Session | None = None
) -> list[NewDelivery]:
    """One pending delivery of `event` per recipient, each with the exact body it will carry
    in its wire profile."""
    body = _body_builder(event, session)
    rows = []
    for webhook in candidates:
        profile = profiles.get(webhook.wire_profile)
        if not (
            webhook.active
            and webhook.account_id == event.account_id
            and profile.wants(event.type, webhook.events, webhook.model, event.model)
        ):
            continue
        rows.append(
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
                signature_scheme=profile.signature,
                request_body=body(profile, webhook.payload_format),
                is_test=event.is_test,
                wire_profile=profile.name,
            )
        )
    if session is not None and session.callback_url:
        profile = profiles.get(session.callback_profile)
        if event.type in profile.callback_events:
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
                    signature_scheme=profile.signature,
                    request_body=body(profile, session.callback_format),
                    is_test=event.is_test,
                    wire_profile=profile.name,
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
    return await DeliveryQueue(tx).enqueue(rows, now=now)


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
    # Imported on first use: commands that never emit (`livehook keys list`) skip OpenTelemetry.
    from livehook import tracing

    origin = tracing.current_carrier()
    await EventRepository(tx).add_many(events, trace_context=json.dumps(origin) if origin else None)
    return await fan_out(tx, events, candidates=candidates, session=session, now=now)
