"""Verification sessions."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from livehook.domain.sessions import Event, Session, SessionQuery
from livehook.storage.database import Transaction
from livehook.storage.records import from_row, values_of
from livehook.storage.repositories.events import EVENTS_OF_SESSION
from livehook.storage.tables import sessions

# The statements of every report, built once: SQLAlchemy would otherwise build each one and walk
# it (values included) for its cache key on every call, 0.3 to 1 ms of CPU apiece (measured).
# The values travel as parameters; an UPDATE without values() sets the columns they name.
_INSERT = insert(sessions)
_BY_ID = select(sessions).where(
    sessions.c.id == bindparam("session_id"), sessions.c.account_id == bindparam("account_id")
)
_BY_ID_FOR_UPDATE = _BY_ID.with_for_update()
_SAVE = update(sessions).where(sessions.c.id == bindparam("session_id"))
_STATE_COLUMNS = (
    "stage", "status", "trust_score", "result", "error", "updated_at", "ended_at"
)  # fmt: skip
# PostgreSQL: the change saved and the session's earlier events read in one round trip. The
# UPDATE runs in a CTE, the SELECT reads a snapshot taken after the row lock was granted, so a
# report that held the lock before this one has its events in it (a join in the locking SELECT
# would not: a row re-checked after a lock wait keeps the other tables' rows of the first look).
_SAVE_THEN_EVENTS_POSTGRES = EVENTS_OF_SESSION.add_cte(
    update(sessions)
    .where(sessions.c.id == bindparam("session_id"))
    .values({name: bindparam(name) for name in _STATE_COLUMNS})
    .returning(sessions.c.id)
    .cte("saved")
)


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
            _INSERT,
            values_of(
                session,
                tenant_metadata=None if metadata is None else dict(metadata),
                **_state(session),
            ),
        )

    async def get(
        self, session_id: str, *, account_id: str, for_update: bool = False
    ) -> Session | None:
        """``for_update`` locks the row on PostgreSQL so concurrent reports on one session take
        turns (SQLite's write transactions are serial already)."""
        query = _BY_ID_FOR_UPDATE if for_update else _BY_ID
        params = {"session_id": session_id, "account_id": account_id}
        row = (await self._conn.execute(query, params)).first()
        return from_row(Session, row) if row else None

    async def save_then_events(self, session: Session) -> list[Event]:
        """Save the report's change; return the session's events stored before it (the
        caller adds the ones it emits), read under the row lock ``get(for_update=True)`` took.
        One statement on PostgreSQL; on SQLite, whose write transactions are serial, two
        statements on a connection in this process, no network between them."""
        params = {"session_id": session.id, **_state(session)}
        if self._conn.dialect.name == "postgresql":
            rows = (await self._conn.execute(_SAVE_THEN_EVENTS_POSTGRES, params)).all()
        else:
            await self._conn.execute(_SAVE, params)
            rows = (await self._conn.execute(EVENTS_OF_SESSION, {"session_id": session.id})).all()
        return [from_row(Event, r) for r in rows]

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
