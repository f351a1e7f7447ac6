"""Verification sessions."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, exists, insert, select, update

from livehook.domain.sessions import Event, Session, SessionQuery
from livehook.storage.database import Transaction
from livehook.storage.records import field_names, from_row, from_row_part, values_of
from livehook.storage.repositories.events import EVENT_COLUMNS, EVENTS_OF_SESSION
from livehook.storage.tables import events, sessions, webhooks

# The statements of every report, built once: SQLAlchemy would otherwise build each one and walk
# it (values included) for its cache key on every call, 0.3 to 1 ms of CPU apiece (measured).
# The values travel as parameters; an UPDATE without values() sets the columns they name.
_INSERT = insert(sessions)
_BY_ID = select(sessions).where(
    sessions.c.id == bindparam("session_id"), sessions.c.account_id == bindparam("account_id")
)
_BY_ID_FOR_UPDATE = _BY_ID.with_for_update()  # concurrent reports on one session take turns
_SAVE = update(sessions).where(sessions.c.id == bindparam("session_id"))
_STATE_COLUMNS = (
    "stage", "status", "trust_score", "result", "error", "updated_at", "ended_at"
)  # fmt: skip
# A report reads the session and its earlier events (the answer's stages) and saves the change
# in two statements. PostgreSQL: the locking read, then the UPDATE in a CTE beside the read of
# the events, whose snapshot is taken after the row lock was granted, so a report that held the
# lock before this one has its events in it (a join in the locking SELECT would not: a row
# re-checked after a lock wait keeps the other tables' rows of the first look). SQLite, whose
# write transactions are serial: the session joined to its events, then the UPDATE; the same
# read says whether the session's key has an active webhook, so that a report with none skips
# the fan-out's read of them (every statement is four hops to aiosqlite's thread and back).
_SAVE_THEN_EVENTS_POSTGRES = EVENTS_OF_SESSION.add_cte(
    update(sessions)
    .where(sessions.c.id == bindparam("session_id"))
    .values({name: bindparam(name) for name in _STATE_COLUMNS})
    .returning(sessions.c.id)
    .cte("saved")
)
_EVENT_LABELS = tuple(f"event_{name}" for name in field_names(Event))
_HAS_WEBHOOKS = (
    exists()
    .where(webhooks.c.api_key_id == sessions.c.api_key_id, webhooks.c.status == "active")
    .label("has_webhooks")
)
_WITH_EVENTS_SQLITE = (
    select(sessions, _HAS_WEBHOOKS, *(c.label(f"event_{c.name}") for c in EVENT_COLUMNS))
    .outerjoin(events, events.c.session_id == sessions.c.id)
    .where(
        sessions.c.id == bindparam("session_id"), sessions.c.account_id == bindparam("account_id")
    )
    .order_by(events.c.created_at, events.c.id)
)


def _event_of(row: Any) -> Event:
    """The event of a session row joined to one of its events (columns ``event_<field>``)."""
    mapping = row._mapping
    return Event(
        **{
            name: mapping[label]
            for name, label in zip(field_names(Event), _EVENT_LABELS, strict=True)
        }
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


@dataclass(frozen=True, slots=True)
class Changed:
    """What a report's locking read learnt besides the session."""

    earlier: list[Event]  # the session's events before the report
    has_webhooks: bool | None  # whether its key has an active webhook; None: not read


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

    async def get(self, session_id: str, *, account_id: str) -> Session | None:
        params = {"session_id": session_id, "account_id": account_id}
        row = (await self._conn.execute(_BY_ID, params)).first()
        return from_row(Session, row) if row else None

    async def change(
        self, session_id: str, *, account_id: str, apply: Callable[[Session], Session]
    ) -> Changed | None:
        """A report's change, the session locked: ``apply`` turns it into the session to save
        (or raises). Returns the events the session had before it (the caller adds the ones it
        emits) and, on SQLite, whether its key has an active webhook, or None if the account
        has no such session. Two statements (see above)."""
        params = {"session_id": session_id, "account_id": account_id}
        if self._conn.dialect.name == "postgresql":
            row = (await self._conn.execute(_BY_ID_FOR_UPDATE, params)).first()
            if row is None:
                return None
            after = apply(from_row(Session, row))
            saved = {"session_id": after.id, **_state(after)}
            rows = (await self._conn.execute(_SAVE_THEN_EVENTS_POSTGRES, saved)).all()
            return Changed([from_row(Event, r) for r in rows], has_webhooks=None)
        rows = (await self._conn.execute(_WITH_EVENTS_SQLITE, params)).all()
        if not rows:
            return None
        after = apply(from_row_part(Session, rows[0]))
        await self._conn.execute(_SAVE, {"session_id": after.id, **_state(after)})
        earlier = [_event_of(r) for r in rows if r.event_id is not None]
        return Changed(earlier, has_webhooks=bool(rows[0].has_webhooks))

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
