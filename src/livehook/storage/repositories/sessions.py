"""Verification sessions."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import insert, select, update

from livehook.domain.sessions import Session, SessionQuery
from livehook.storage.database import Transaction
from livehook.storage.records import from_row, values_of
from livehook.storage.tables import sessions


def _state(session: Session) -> dict[str, Any]:
    """The columns a report changes."""
    return {
        "stage": session.stage,
        "status": session.status,
        "trust_score": session.trust_score,
        "result": None if session.result is None else dict(session.result),
        "error": None if session.error is None else dict(session.error),
        "updated_at": session.updated_at,
        "ended_at": session.ended_at,
    }


class SessionRepository:
    def __init__(self, tx: Transaction) -> None:
        self._conn = tx.conn

    async def callback_settings(
        self, session_ids: Collection[str]
    ) -> dict[str, tuple[str, str | list[int] | None]]:
        """(callback profile, callback retry policy) of each session, in one query."""
        if not session_ids:
            return {}
        query = select(
            sessions.c.id, sessions.c.callback_profile, sessions.c.callback_retry_policy
        ).where(sessions.c.id.in_(list(session_ids)))
        rows = (await self._conn.execute(query)).all()
        return {r.id: (r.callback_profile, r.callback_retry_policy) for r in rows}

    async def add(self, session: Session) -> None:
        metadata = session.tenant_metadata
        await self._conn.execute(
            insert(sessions).values(
                values_of(
                    session,
                    tenant_metadata=None if metadata is None else dict(metadata),
                    **_state(session),
                )
            )
        )

    async def get(
        self, session_id: str, *, account_id: str, for_update: bool = False
    ) -> Session | None:
        """``for_update`` locks the row on PostgreSQL so concurrent reports on one session take
        turns (SQLite's write transactions are serial already)."""
        query = select(sessions).where(
            sessions.c.id == session_id, sessions.c.account_id == account_id
        )
        if for_update:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        return from_row(Session, row) if row else None

    async def save(self, session: Session) -> None:
        await self._conn.execute(
            update(sessions).where(sessions.c.id == session.id).values(**_state(session))
        )

    async def list_page(
        self,
        *,
        account_id: str,
        query: SessionQuery,
        after: str | None = None,
        limit: int = 50,
    ) -> list[Session]:
        """Oldest first: UUIDv7 ids sort by creation time, so the id is the cursor."""
        stmt = (
            select(sessions)
            .where(sessions.c.account_id == account_id)
            .order_by(sessions.c.id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(sessions.c.id > after)
        for column, value in (
            (sessions.c.status, query.status),
            (sessions.c.model, query.model),
            (sessions.c.external_id, query.external_id),
            (sessions.c.external_tracker, query.external_tracker),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if query.created_after is not None:
            stmt = stmt.where(sessions.c.created_at >= query.created_after)
        if query.created_before is not None:
            stmt = stmt.where(sessions.c.created_at < query.created_before)
        return [from_row(Session, r) for r in (await self._conn.execute(stmt)).all()]
