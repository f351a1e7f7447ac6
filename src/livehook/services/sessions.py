"""Verification sessions: create, report stages, verdicts and failures, poll; events listing.

Every write runs in one transaction: the idempotency key is claimed, the session row is locked and
changed, its events and their deliveries are written (the outbox, `fanout`), and the answer is
stored under the key. Nothing is half-done after a crash.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from livehook import ids
from livehook.clock import Clock, system_clock
from livehook.domain import profiles, reports
from livehook.domain.accounts import Principal
from livehook.domain.addresses import UnsafeURLError
from livehook.domain.catalog import EVENT_TYPES
from livehook.domain.lifecycle import TransitionError
from livehook.domain.payloads import EVENT_ID_PREFIX
from livehook.domain.sessions import (
    MAX_EVENTS_PER_REPORT,
    Event,
    EventQuery,
    FieldError,
    Session,
    SessionQuery,
    StageReached,
    Verdict,
    stages_reached,
)
from livehook.logs import get_logger
from livehook.services import fanout
from livehook.services.errors import Conflict, InvalidRequest, NotFound
from livehook.services.idempotency import Idempotency, claim, record
from livehook.services.webhooks import UrlGuard
from livehook.storage.database import Database, Transaction
from livehook.storage.repositories.events import EventRepository
from livehook.storage.repositories.sessions import Changed, SessionRepository
from livehook.storage.repositories.webhooks import WebhookRepository

_T = TypeVar("_T")
log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SessionDraft:
    model: str
    external_id: str | None = None
    external_tracker: str | None = None
    tenant_metadata: Mapping[str, Any] | None = None
    callback_url: str | None = None
    callback_format: str = "full"
    callback_profile: str | None = None  # None: the deployment's default wire profile
    callback_retry_policy: str | list[int] | None = None  # None: the profile's default


@dataclass(frozen=True, slots=True)
class SessionView:
    """A session with the stages it reached, in order, with their times."""

    session: Session
    stages: list[StageReached]


# Inside the write transaction: make the change and return it (the session after, new events)
# with what the read before it learnt: the session's events stored before it, which the answer's
# stages are read from, and whether its key has an active webhook (None: not known).
_Report = Callable[[Transaction, datetime], Awaitable[tuple[reports.Change, Changed]]]


class SessionService:
    def __init__(
        self,
        db: Database,
        url_guard: UrlGuard,
        clock: Clock = system_clock,
        *,
        on_enqueued: Callable[[], None] | None = None,
        fan_out: fanout.FanOut = fanout.fan_out,
        default_profile: str = profiles.DEFAULT_PROFILE,
    ) -> None:
        """``on_enqueued`` runs after a commit that wrote deliveries: an in-process worker's
        wake-up (PostgreSQL workers also hear a NOTIFY). A composition root that builds the
        worker later may set the attribute of that name."""
        self._db = db
        self._guard = url_guard
        self._clock = clock
        self.on_enqueued = on_enqueued
        self._fan_out = fan_out
        self._default_profile = profiles.get(default_profile).name

    # --- writes ------------------------------------------------------------------------------

    async def create(
        self,
        principal: Principal,
        draft: SessionDraft,
        *,
        idempotency: Idempotency[SessionView] | None = None,
    ) -> SessionView:
        """A new session of the caller's key; emits `verification.initialized`."""
        callback_url = await self._checked_callback(draft.callback_url)

        async def report(tx: Transaction, now: datetime) -> tuple[reports.Change, Changed]:
            session = _field_checked(
                reports.new_session,
                session_id=str(ids.new_uuid()),
                account_id=principal.account_id,
                api_key_id=principal.key_id,
                model=draft.model,
                at=now,
                external_id=draft.external_id,
                external_tracker=draft.external_tracker,
                tenant_metadata=draft.tenant_metadata,
                callback_url=callback_url,
                callback_format=draft.callback_format,
                callback_profile=draft.callback_profile or self._default_profile,
                callback_retry_policy=draft.callback_retry_policy,
            )
            await SessionRepository(tx).add(session)
            initialized = reports.initialized(session, event_id=_event_id())
            # A new session has no events yet; its key's webhooks are read below.
            return reports.Change(session, [initialized]), Changed([], has_webhooks=None)

        return await self._write(principal, idempotency, report)

    async def report_stage(
        self,
        principal: Principal,
        session_id: str,
        stage: str,
        *,
        trust_score: float | None = None,
        idempotency: Idempotency[SessionView] | None = None,
    ) -> SessionView:
        def change(session: Session, now: datetime) -> reports.Change:
            return reports.report_stage(
                session, stage, trust_score=trust_score, event_id=_event_id(), at=now
            )

        return await self._write(principal, idempotency, _on_session(principal, session_id, change))

    async def report_result(
        self,
        principal: Principal,
        session_id: str,
        verdict: Verdict,
        *,
        idempotency: Idempotency[SessionView] | None = None,
    ) -> SessionView:
        def change(session: Session, now: datetime) -> reports.Change:
            # Sorted: ids minted in one millisecond must still sort in emission order.
            event_ids = sorted(_event_id() for _ in range(MAX_EVENTS_PER_REPORT))
            return reports.report_verdict(session, verdict, event_ids=event_ids, at=now)

        return await self._write(principal, idempotency, _on_session(principal, session_id, change))

    async def report_failure(
        self,
        principal: Principal,
        session_id: str,
        code: str,
        message: str,
        *,
        idempotency: Idempotency[SessionView] | None = None,
    ) -> SessionView:
        def change(session: Session, now: datetime) -> reports.Change:
            return reports.report_failure(session, code, message, event_id=_event_id(), at=now)

        return await self._write(principal, idempotency, _on_session(principal, session_id, change))

    async def _write(
        self,
        principal: Principal,
        idempotency: Idempotency[SessionView] | None,
        report: _Report,
    ) -> SessionView:
        now = self._clock()
        async with self._db.transaction() as tx:
            if idempotency is not None:
                await claim(tx, principal.account_id, idempotency, now)
            change, before = await report(tx, now)
            session = change.session
            candidates = (
                []
                if before.has_webhooks is False
                else await WebhookRepository(tx).active_for_key(session.api_key_id)
            )
            enqueued = await fanout.emit(
                tx,
                change.events,
                candidates=candidates,
                session=session,
                now=now,
                fan_out=self._fan_out,
            )
            view = SessionView(session, stages_reached([*before.earlier, *change.events]))
            if idempotency is not None:
                await record(tx, principal.account_id, idempotency, view)
        if enqueued and self.on_enqueued is not None:
            try:
                self.on_enqueued()
            except Exception:  # the write committed; a missed wake-up only waits for the poll
                log.exception("delivery wake-up failed")
        return view

    async def _checked_callback(self, url: str | None) -> str | None:
        # Checked before the transaction: DNS must not hold the database's write lock.
        if url is None:
            return None
        try:
            return await self._guard(url)
        except UnsafeURLError as exc:
            raise InvalidRequest(str(exc), field="callback_url") from None

    # --- reads -------------------------------------------------------------------------------

    async def get(self, principal: Principal, session_id: str) -> SessionView:
        async with self._db.read() as tx:
            session = await SessionRepository(tx).get(
                _canonical(session_id), account_id=principal.account_id
            )
            if session is None:
                raise _not_found(session_id)
            events = await EventRepository(tx).for_session(session.id)
        return SessionView(session, stages_reached(events))

    async def list_page(
        self,
        principal: Principal,
        query: SessionQuery,
        *,
        after: str | None = None,
        limit: int = 50,
    ) -> list[Session]:
        async with self._db.read() as tx:
            return await SessionRepository(tx).list_page(
                account_id=principal.account_id, query=query, after=after, limit=limit
            )

    async def get_event(self, principal: Principal, event_id: str) -> Event:
        async with self._db.read() as tx:
            event = await EventRepository(tx).get(event_id, account_id=principal.account_id)
        if event is None:
            raise NotFound(f"event {event_id} not found")
        return event

    async def list_events(
        self,
        principal: Principal,
        query: EventQuery,
        *,
        after: str | None = None,
        limit: int = 50,
    ) -> list[Event]:
        if query.type is not None and query.type not in EVENT_TYPES:
            raise InvalidRequest(f"unknown event type {query.type!r}", field="type")
        if query.session_id is not None:
            query = replace(query, session_id=_canonical(query.session_id))
        async with self._db.read() as tx:
            return await EventRepository(tx).list_page(
                account_id=principal.account_id, query=query, after=after, limit=limit
            )


def _on_session(
    principal: Principal, session_id: str, change: Callable[[Session, datetime], reports.Change]
) -> _Report:
    """A report on an existing session of the caller's account: lock it, change it, save it."""

    async def report(tx: Transaction, now: datetime) -> tuple[reports.Change, Changed]:
        done: list[reports.Change] = []

        def apply(session: Session) -> Session:
            try:
                done.append(_field_checked(change, session, now))
            except TransitionError as exc:
                raise Conflict(str(exc), current_stage=exc.current, status=session.status) from None
            return done[0].session

        before = await SessionRepository(tx).change(
            _canonical(session_id), account_id=principal.account_id, apply=apply
        )
        if before is None:
            raise _not_found(session_id)
        return done[0], before

    return report


def _field_checked(function: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """Call `function`; a value it refuses becomes a 422 naming the field."""
    try:
        return function(*args, **kwargs)
    except FieldError as exc:
        raise InvalidRequest(str(exc), field=exc.field) from None


def _event_id() -> str:
    return ids.new_id(EVENT_ID_PREFIX)


def _canonical(session_id: str) -> str:
    """The stored spelling of a session id; anything that is not a UUID matches nothing."""
    try:
        return str(uuid.UUID(session_id))
    except ValueError:
        return session_id


def _not_found(session_id: str) -> NotFound:
    return NotFound(f"session {session_id} not found")
