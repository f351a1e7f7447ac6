"""What `livehook listen` asks of the log: the events its endpoint never got (what waited comes
due again through ``storage/delivery_queue.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, not_, select

from livehook.domain.sessions import Event
from livehook.storage.database import Transaction
from livehook.storage.records import from_row
from livehook.storage.repositories.events import EVENT_COLUMNS
from livehook.storage.tables import deliveries, events, sessions


class ListeningRepository:
    def __init__(self, tx: Transaction) -> None:
        self._conn = tx.conn

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
