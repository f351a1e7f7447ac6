"""Events: immutable, written once by the outbox, read by polling and the funnel."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import insert, select

from livehook.domain.sessions import Event, EventQuery
from livehook.storage.database import Transaction
from livehook.storage.tables import events


def _to_event(row: Any) -> Event:
    return Event(
        id=row.id,
        account_id=row.account_id,
        session_id=row.session_id,
        type=row.type,
        data=row.data,
        created_at=row.created_at,
        model=row.model,
        external_tracker=row.external_tracker,
        session_created_at=row.session_created_at,
        is_test=row.is_test,
    )


def _row(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "account_id": event.account_id,
        "session_id": event.session_id,
        "type": event.type,
        "data": dict(event.data),
        "is_test": event.is_test,
        "created_at": event.created_at,
        "model": event.model,
        "external_tracker": event.external_tracker,
        "session_created_at": event.session_created_at,
    }


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
        query = select(events).where(events.c.id == event_id, events.c.account_id == account_id)
        row = (await self._conn.execute(query)).first()
        return _to_event(row) if row else None

    async def for_session(self, session_id: str) -> list[Event]:
        query = (
            select(events)
            .where(events.c.session_id == session_id)
            .order_by(events.c.created_at, events.c.id)
        )
        return [_to_event(r) for r in (await self._conn.execute(query)).all()]

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
            select(events)
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
        return [_to_event(r) for r in (await self._conn.execute(stmt)).all()]
