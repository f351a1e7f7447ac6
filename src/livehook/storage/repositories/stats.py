"""Statistics computed by the database: nothing here loads events into Python."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from livehook.storage.database import Transaction
from livehook.storage.tables import events


def funnel_query(
    *,
    account_id: str,
    start: datetime,
    end: datetime,
    external_tracker: str | None = None,
    model: str | None = None,
) -> Select[Any]:
    """Sessions created in [start, end) per event type they reached.

    COUNT(*) counts sessions because a session has at most one event of each type (the
    transition table never repeats a stage). The range scan reads ix_events_funnel; events
    without a session have no session_created_at and so never fall in the range.
    """
    query = (
        select(events.c.type, func.count().label("sessions"))
        .where(
            events.c.account_id == account_id,
            events.c.session_created_at >= start,
            events.c.session_created_at < end,
        )
        .group_by(events.c.type)
    )
    if external_tracker is not None:
        query = query.where(events.c.external_tracker == external_tracker)
    if model is not None:
        query = query.where(events.c.model == model)
    return query


class StatsRepository:
    def __init__(self, tx: Transaction) -> None:
        self._conn = tx.conn

    async def funnel_counts(
        self,
        *,
        account_id: str,
        start: datetime,
        end: datetime,
        external_tracker: str | None = None,
        model: str | None = None,
    ) -> dict[str, int]:
        """Sessions per event type: see `funnel_query`."""
        query = funnel_query(
            account_id=account_id,
            start=start,
            end=end,
            external_tracker=external_tracker,
            model=model,
        )
        rows = (await self._conn.execute(query)).all()
        return {row.type: int(row.sessions) for row in rows}
