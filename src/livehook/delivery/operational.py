"""Operational events (``webhook.disabled``, ``delivery.exhausted``): stored and fanned out to
the account's active endpoints that subscribe to them by name (``services.fanout``).

Written in the caller's transaction, beside the change they report, so the report cannot be lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from livehook.domain.sessions import Event
from livehook.services import fanout
from livehook.storage.database import Transaction
from livehook.storage.repositories.webhooks import WebhookRepository

NewId = Callable[[str], str]


async def emit_operational_event(
    tx: Transaction,
    *,
    account_id: str,
    event_type: str,
    data: Mapping[str, Any],
    now: datetime,
    new_id: NewId,
) -> int:
    """Store the event and queue its deliveries; returns how many endpoints get it."""
    event = Event(
        id=new_id("evt"),
        account_id=account_id,
        session_id=None,
        type=event_type,
        data=dict(data),
        created_at=now,
    )
    candidates = await WebhookRepository(tx).active_for_account(account_id)
    return await fanout.emit(tx, [event], candidates=candidates, now=now)
