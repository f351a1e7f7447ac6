"""The outbox: pending deliveries written in the same transaction as the event they carry.

The delivery worker claims these rows (storage/repositories/deliveries.py). On PostgreSQL a
notification on ``DELIVERY_CHANNEL`` wakes listening workers when the transaction commits;
polling remains the fallback, so a lost notification only costs latency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, text

from livehook.storage.database import Transaction
from livehook.storage.tables import deliveries

# LISTEN on this channel to hear about new deliveries; the payload is empty.
DELIVERY_CHANNEL = "livehook_deliveries"


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """One event going to one recipient, with the exact body the worker will sign and send."""

    id: str
    account_id: str
    event_id: str
    webhook_id: str | None  # None: the session's callback_url
    api_key_id: str
    session_id: str | None
    target_url: str
    event_type: str
    model: str | None
    payload_format: str
    signature_scheme: str
    request_body: str  # UTF-8 JSON text
    is_test: bool = False
    wire_profile: str = "livehook"


class OutboxRepository:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def enqueue(self, rows: Sequence[NewDelivery], *, now: datetime) -> None:
        """Insert ``rows`` as pending, due ``now``."""
        if not rows:
            return
        values = [
            {
                "id": row.id,
                "account_id": row.account_id,
                "event_id": row.event_id,
                "webhook_id": row.webhook_id,
                "api_key_id": row.api_key_id,
                "session_id": row.session_id,
                "target_url": row.target_url,
                "event_type": row.event_type,
                "model": row.model,
                "payload_format": row.payload_format,
                "signature_scheme": row.signature_scheme,
                "is_test": row.is_test,
                "wire_profile": row.wire_profile,
                "status": "pending",
                "attempt_count": 0,
                "next_attempt_at": now,
                "lease_token": None,
                "request_body": row.request_body,
                "created_at": now,
                "updated_at": now,
            }
            for row in rows
        ]
        await self._tx.conn.execute(insert(deliveries), values)

    async def notify(self) -> None:
        """Wake the workers at commit (PostgreSQL; elsewhere the caller's hook does it)."""
        if self._tx.dialect == "postgresql":
            await self._tx.conn.execute(
                text("SELECT pg_notify(:channel, '')"), {"channel": DELIVERY_CHANNEL}
            )
