"""Events: written once, with their deliveries, by the fan-out (`services/fanout.py`); read by
the session and event APIs, and by the worker for the trace context its spans link to."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import bindparam, insert, select

from livehook.domain.sessions import Event, EventQuery
from livehook.storage.database import Transaction
from livehook.storage.records import columns_for, from_row, values_of
from livehook.storage.tables import events

# Every column but the trace context, which only the delivery's span reads.
EVENT_COLUMNS = columns_for(events, Event)


# Read with every report (`SessionRepository.change`): built once (see
# repositories/sessions.py).
EVENTS_OF_SESSION = (
    select(*EVENT_COLUMNS)
    .where(events.c.session_id == bindparam("session_id"))
    .order_by(events.c.created_at, events.c.id)
)


def _row(event: Event) -> dict[str, Any]:
    return values_of(event, data=dict(event.data))


class EventRepository:
    def __init__(self, tx: Transaction) -> None:
        self._conn = tx.conn

    async def add_many(self, new: Sequence[Event], *, trace_context: str | None = None) -> None:
        if new:
            rows = [_row(e) | {"trace_context": trace_context} for e in new]
            await self._conn.execute(insert(events), rows)

    async def trace_contexts(self, event_ids: Collection[str]) -> dict[str, str]:
        """The stored trace context of each of ``event_ids`` that has one."""
        if not event_ids:
            return {}
        query = select(events.c.id, events.c.trace_context).where(
            events.c.id.in_(list(event_ids)), events.c.trace_context.is_not(None)
        )
        return {row.id: row.trace_context for row in await self._conn.execute(query)}

    async def get(self, event_id: str, *, account_id: str) -> Event | None:
        query = select(*EVENT_COLUMNS).where(
            events.c.id == event_id, events.c.account_id == account_id
        )
        row = (await self._conn.execute(query)).first()
        return from_row(Event, row) if row else None

    async def for_session(self, session_id: str) -> list[Event]:
        rows = (await self._conn.execute(EVENTS_OF_SESSION, {"session_id": session_id})).all()
        return [from_row(Event, r) for r in rows]

    async def list_page(
        self,
        *,
        account_id: str,
        query: EventQuery,
        after: str | None = None,
        limit: int = 50,
    ) -> list[Event]:
        """Oldest first by id (ids sort by creation time); the id is the cursor."""
        stmt = (
            select(*EVENT_COLUMNS)
            .where(events.c.account_id == account_id)
            .order_by(events.c.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(events.c.id > after)
        if query.session_id is not None:
            stmt = stmt.where(events.c.session_id == query.session_id)
        if query.type is not None:
            stmt = stmt.where(events.c.type == query.type)
        if query.created_after is not None:
            stmt = stmt.where(events.c.created_at >= query.created_after)
        if query.created_before is not None:
            stmt = stmt.where(events.c.created_at < query.created_before)
        return [from_row(Event, r) for r in (await self._conn.execute(stmt)).all()]
