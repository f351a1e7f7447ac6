"""What `livehook listen` asks of the queue: hurry what waited, find what it never got."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, not_, select, update

from livehook.domain.deliveries import PENDING
from livehook.domain.sessions import Event
from livehook.storage.database import Transaction
from livehook.storage.records import from_row
from livehook.storage.repositories.deliveries import in_flight
from livehook.storage.repositories.events import EVENT_COLUMNS
from livehook.storage.tables import deliveries, events, sessions


class ListeningRepository:
    def __init__(self, tx: Transaction) -> None:
        self._conn = tx.conn

    async def due_now(self, webhook_id: str, now: datetime) -> int:
        """Every pending delivery of the endpoint not in flight comes due now (its listener is
        back: the retries it waited for need not wait longer)."""
        result = await self._conn.execute(
            update(deliveries)
            .where(
                deliveries.c.webhook_id == webhook_id,
                deliveries.c.status == PENDING,
                not_(in_flight(now)),
            )
            .values(next_attempt_at=now, lease_token=None, updated_at=now)
        )
        return result.rowcount

    async def replay(
        self, webhook_id: str, *, since: datetime, event_types: Sequence[str], now: datetime
    ) -> int:
        """Every finished delivery of the endpoint since ``since`` of ``event_types``, succeeded
        or failed, is sent again (not those whose payload was pruned; pending ones are already
        on their way)."""
        result = await self._conn.execute(
            update(deliveries)
            .where(
                deliveries.c.webhook_id == webhook_id,
                deliveries.c.status != PENDING,
                deliveries.c.created_at >= since,
                deliveries.c.event_type.in_(event_types),
                deliveries.c.request_body.is_not(None),
            )
            .values(
                status=PENDING,
                next_attempt_at=now,
                lease_token=None,
                updated_at=now,
                completed_at=None,
            )
        )
        return result.rowcount

    async def events_never_sent(
        self, *, webhook_id: str, api_key_id: str, since: datetime, limit: int
    ) -> list[Event]:
        """Events of the key's sessions since ``since`` that the endpoint has no delivery of,
        oldest first."""
        delivered = exists().where(
            deliveries.c.event_id == events.c.id, deliveries.c.webhook_id == webhook_id
        )
        query = (
            select(*EVENT_COLUMNS)
            .join(sessions, sessions.c.id == events.c.session_id)
            .where(
                sessions.c.api_key_id == api_key_id,
                events.c.created_at >= since,
                not_(delivered),
            )
            .order_by(events.c.created_at, events.c.id)
            .limit(limit)
        )
        return [from_row(Event, row) for row in (await self._conn.execute(query)).all()]
