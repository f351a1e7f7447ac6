"""The delivery queue: claim with a lease, release, record attempts; endpoint health.

The queue is the ``deliveries`` table. A claimed row stays ``pending`` with ``next_attempt_at``
pushed to the end of its lease and a fresh ``lease_token``; every later write for it is guarded
by ``id`` and that token, so a worker whose lease ran out cannot overwrite the result of the
worker that claimed the row after it. A worker that dies leaves its rows to come due again.

Statements that must use a partial index spell its predicate as a literal: a bound parameter
(``status = $1``) does not prove the index's ``status = 'pending'`` to either planner.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Select, and_, bindparam, insert, literal_column, not_, select, text, update
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.elements import ColumnElement

from livehook.domain.deliveries import (
    FAILED,
    PENDING,
    REASON_ENDPOINT_DISABLED,
    Attempt,
    Delivery,
)
from livehook.domain.listening import LISTEN_URL_SCHEME
from livehook.storage.database import Transaction
from livehook.storage.tables import attempts, deliveries, webhooks

IS_PENDING = deliveries.c.status == literal_column("'pending'")

# The outcome of an attempt, column by column: ``finish_leased`` writes these.
_OUTCOME_COLUMNS = (
    ("status", "text"),
    ("attempt_count", "integer"),
    ("next_attempt_at", "timestamptz"),
    ("last_status_code", "integer"),
    ("last_error", "text"),
    ("signature_scheme", "text"),
    ("target_url", "text"),
    ("updated_at", "timestamptz"),
    ("completed_at", "timestamptz"),
)
# PostgreSQL: every outcome of a batch in one statement over arrays, which also says which rows
# still held their lease. An executemany would run the update once per row and report nothing.
_FINISH_LEASED_POSTGRES = text(
    "UPDATE deliveries AS d SET lease_token = NULL, "
    + ", ".join(f"{name} = v.{name}" for name, _ in _OUTCOME_COLUMNS)
    + " FROM unnest(CAST(:b_id AS text[]), CAST(:b_token AS text[]), "
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _OUTCOME_COLUMNS)
    + ") AS v(id, token, "
    + ", ".join(name for name, _ in _OUTCOME_COLUMNS)
    + ") WHERE d.id = v.id AND d.lease_token = v.token AND d.status = 'pending' RETURNING d.id"
)


def to_delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        account_id=row.account_id,
        event_id=row.event_id,
        webhook_id=row.webhook_id,
        api_key_id=row.api_key_id,
        session_id=row.session_id,
        target_url=row.target_url,
        event_type=row.event_type,
        model=row.model,
        payload_format=row.payload_format,
        signature_scheme=row.signature_scheme,
        is_test=bool(row.is_test),
        status=row.status,
        attempt_count=row.attempt_count,
        next_attempt_at=row.next_attempt_at,
        request_body=row.request_body,
        payload_pruned_at=row.payload_pruned_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
        completed_at=row.completed_at,
        wire_profile=row.wire_profile,
    )


def to_attempt(row: Any) -> Attempt:
    return Attempt(
        id=row.id,
        delivery_id=row.delivery_id,
        number=row.number,
        started_at=row.started_at,
        duration_ms=row.duration_ms,
        request_headers=headers_of(row.request_headers),
        response_status=row.response_status,
        response_headers=None if row.response_headers is None else headers_of(row.response_headers),
        response_body=row.response_body,
        error=row.error,
        next_attempt_at=row.next_attempt_at,
    )


def header_pairs(headers: Mapping[str, str]) -> list[list[str]]:
    # Pairs, not an object: JSONB reorders object keys, and the log shows headers as sent.
    return [[name, value] for name, value in headers.items()]


def headers_of(stored: Any) -> dict[str, str]:
    return dict(stored) if isinstance(stored, dict) else {name: value for name, value in stored}


def _attempt_row(attempt: Attempt) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "delivery_id": attempt.delivery_id,
        "number": attempt.number,
        "started_at": attempt.started_at,
        "duration_ms": attempt.duration_ms,
        "request_headers": header_pairs(attempt.request_headers),
        "response_status": attempt.response_status,
        "response_headers": (
            None if attempt.response_headers is None else header_pairs(attempt.response_headers)
        ),
        "response_body": attempt.response_body,
        "error": attempt.error,
        "next_attempt_at": attempt.next_attempt_at,
    }


# PostgreSQL: a batch of attempts in one statement over arrays (an executemany inserts row by
# row); the headers travel as JSON text and become JSONB in the select list.
_ATTEMPT_COLUMNS = (
    ("id", "text", "{}"),
    ("delivery_id", "text", "{}"),
    ("number", "integer", "{}"),
    ("started_at", "timestamptz", "{}"),
    ("duration_ms", "double precision", "{}"),
    ("request_headers", "text", "CAST({} AS jsonb)"),
    ("response_status", "integer", "{}"),
    ("response_headers", "text", "CAST({} AS jsonb)"),
    ("response_body", "text", "{}"),
    ("error", "text", "{}"),
    ("next_attempt_at", "timestamptz", "{}"),
)
_ADD_ATTEMPTS_POSTGRES = text(
    "INSERT INTO attempts ("
    + ", ".join(name for name, _, _ in _ATTEMPT_COLUMNS)
    + ") SELECT "
    + ", ".join(shape.format(f"v.{name}") for name, _, shape in _ATTEMPT_COLUMNS)
    + " FROM unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind, _ in _ATTEMPT_COLUMNS)
    + ") AS v("
    + ", ".join(name for name, _, _ in _ATTEMPT_COLUMNS)
    + ")"
)


def _attempt_arrays(new: Sequence[Attempt]) -> dict[str, list[Any]]:
    rows = [_attempt_row(a) for a in new]
    for row in rows:
        row["request_headers"] = orjson.dumps(row["request_headers"]).decode()
        if row["response_headers"] is not None:
            row["response_headers"] = orjson.dumps(row["response_headers"]).decode()
    return {name: [row[name] for row in rows] for name, _, _ in _ATTEMPT_COLUMNS}


def _each_leased_row() -> Update:
    """An update of one row per parameter set (``b_id``), only while ``b_token`` leases it."""
    return update(deliveries).where(
        deliveries.c.id == bindparam("b_id"),
        deliveries.c.lease_token == bindparam("b_token"),
        IS_PENDING,
    )


def in_flight(now: datetime) -> ColumnElement[bool]:
    """Rows some worker holds a live lease on."""
    return and_(
        IS_PENDING, deliveries.c.lease_token.is_not(None), deliveries.c.next_attempt_at > now
    )


class DeliveryRepository:
    def __init__(self, tx: Transaction) -> None:
        self._conn = tx.conn
        self._dialect = tx.dialect

    async def add(self, delivery: Delivery) -> None:
        await self._conn.execute(
            insert(deliveries).values(
                id=delivery.id,
                account_id=delivery.account_id,
                event_id=delivery.event_id,
                webhook_id=delivery.webhook_id,
                api_key_id=delivery.api_key_id,
                session_id=delivery.session_id,
                target_url=delivery.target_url,
                event_type=delivery.event_type,
                model=delivery.model,
                payload_format=delivery.payload_format,
                signature_scheme=delivery.signature_scheme,
                is_test=delivery.is_test,
                status=delivery.status,
                attempt_count=delivery.attempt_count,
                next_attempt_at=delivery.next_attempt_at,
                lease_token=None,
                request_body=delivery.request_body,
                payload_pruned_at=delivery.payload_pruned_at,
                last_status_code=delivery.last_status_code,
                last_error=delivery.last_error,
                created_at=delivery.created_at,
                updated_at=delivery.updated_at,
                completed_at=delivery.completed_at,
                wire_profile=delivery.wire_profile,
            )
        )

    # --- the queue -------------------------------------------------------------------------

    async def claim(
        self,
        *,
        now: datetime,
        lease_until: datetime,
        token: str,
        limit: int,
        listen: bool | None = None,
    ) -> list[Delivery]:
        """Lease up to ``limit`` due rows, oldest due first; reads the due index only.
        ``listen``: None, every target; True, only `livehook listen` endpoints; False, the rest
        (serve's own worker and its worker processes split the queue so)."""
        due = (
            select(deliveries.c.id)
            .where(IS_PENDING, deliveries.c.next_attempt_at <= now)
            .order_by(deliveries.c.next_attempt_at)
            .limit(limit)
        )
        if listen is not None:
            to_listener = deliveries.c.target_url.startswith(LISTEN_URL_SCHEME, autoescape=True)
            due = due.where(to_listener if listen else not_(to_listener))
        lease = {"next_attempt_at": lease_until, "lease_token": token, "updated_at": now}
        if self._dialect == "postgresql":
            rows = await self._claim_postgres(due, lease)
        else:
            rows = await self._claim_sqlite(due, lease, now)
        return sorted((to_delivery(r) for r in rows), key=lambda d: d.id)

    async def _claim_postgres(self, due: Select[Any], lease: dict[str, Any]) -> Sequence[Any]:
        # Rows another worker is claiming right now are skipped, not waited for. The CTE runs
        # once: a sub-select under IN may be rescanned and, its first pick now leased and no
        # longer due, hand out more rows than the limit.
        picked = due.with_for_update(skip_locked=True).cte("due")
        stmt = (
            update(deliveries)
            .where(deliveries.c.id == picked.c.id)
            .values(**lease)
            .returning(*deliveries.c)
        )
        return (await self._conn.execute(stmt)).all()

    async def _claim_sqlite(
        self, due: Select[Any], lease: dict[str, Any], now: datetime
    ) -> Sequence[Any]:
        # SQLAlchemy's SQLite compiler drops FOR UPDATE; none is needed: every transaction
        # began with BEGIN IMMEDIATE (storage/engines.py), so no other writer runs between
        # these two statements. The conditions are checked again all the same.
        ids = list((await self._conn.execute(due)).scalars())
        if not ids:
            return []
        stmt = (
            update(deliveries)
            .where(deliveries.c.id.in_(ids), IS_PENDING, deliveries.c.next_attempt_at <= now)
            .values(**lease)
            .returning(*deliveries.c)
        )
        return (await self._conn.execute(stmt)).all()

    async def release(self, ids: Sequence[str], token: str, at: datetime, now: datetime) -> int:
        """Give leased rows back, due again at ``at``; no attempt is counted."""
        if not ids:
            return 0
        result = await self._conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(ids), deliveries.c.lease_token == token, IS_PENDING)
            .values(next_attempt_at=at, lease_token=None, updated_at=now)
        )
        return result.rowcount

    async def release_many(
        self, releases: Sequence[tuple[str, str, datetime]], now: datetime
    ) -> None:
        """``release`` for many rows in one statement: (id, lease token, due again at) each."""
        if not releases:
            return
        stmt = _each_leased_row().values(
            next_attempt_at=bindparam("b_at"), lease_token=None, updated_at=now
        )
        rows = [{"b_id": id_, "b_token": token, "b_at": at} for id_, token, at in releases]
        await self._conn.execute(stmt, rows)

    async def finish_attempt(
        self,
        delivery_id: str,
        token: str,
        *,
        number: int,
        status: str,
        next_attempt_at: datetime | None,
        last_status_code: int | None,
        last_error: str | None,
        signature_scheme: str,
        target_url: str,
        now: datetime,
    ) -> bool:
        """Write the outcome of attempt ``number``; False if the lease was lost meanwhile.
        ``signature_scheme`` and ``target_url`` are what this attempt used: the endpoint's
        settings of the moment."""
        result = await self._conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id, deliveries.c.lease_token == token, IS_PENDING)
            .values(
                status=status,
                attempt_count=number,
                next_attempt_at=next_attempt_at,
                lease_token=None,
                last_status_code=last_status_code,
                last_error=last_error,
                signature_scheme=signature_scheme,
                target_url=target_url,
                updated_at=now,
                completed_at=None if status == PENDING else now,
            )
        )
        return bool(result.rowcount)

    async def leased(self, ids: Sequence[str]) -> dict[str, str]:
        """Lease token of each pending leased row of ``ids``, locked until the transaction ends
        (on SQLite the transaction already holds the write lock)."""
        if not ids:
            return {}
        stmt = (
            select(deliveries.c.id, deliveries.c.lease_token)
            .where(deliveries.c.id.in_(ids), IS_PENDING, deliveries.c.lease_token.is_not(None))
            .with_for_update()
        )
        return {row.id: row.lease_token for row in await self._conn.execute(stmt)}

    async def finish_leased(self, outcomes: Sequence[Mapping[str, Any]]) -> set[str]:
        """Write each outcome (``b_id``, ``b_token`` and the columns of ``finish_attempts``)
        whose row still holds that lease; returns the ids written. The others' leases were
        lost: another worker owns those rows now, and nothing of them is written."""
        if not outcomes:
            return set()
        if self._dialect == "postgresql":
            names = ["b_id", "b_token", *(name for name, _ in _OUTCOME_COLUMNS)]
            arrays = {name: [o[name] for o in outcomes] for name in names}
            return set((await self._conn.execute(_FINISH_LEASED_POSTGRES, arrays)).scalars())
        tokens = await self.leased([o["b_id"] for o in outcomes])
        kept = [o for o in outcomes if tokens.get(o["b_id"]) == o["b_token"]]
        await self.finish_attempts(kept)
        return {o["b_id"] for o in kept}

    async def finish_attempts(self, outcomes: Sequence[Mapping[str, Any]]) -> None:
        """``finish_attempt`` for many rows in one statement; each mapping holds ``id`` and
        ``token`` (the guard) and the columns to write. Call ``leased`` first: an
        executemany does not report which rows matched."""
        if not outcomes:
            return
        stmt = _each_leased_row().values(
            status=bindparam("status"),
            attempt_count=bindparam("attempt_count"),
            next_attempt_at=bindparam("next_attempt_at"),
            lease_token=None,
            last_status_code=bindparam("last_status_code"),
            last_error=bindparam("last_error"),
            signature_scheme=bindparam("signature_scheme"),
            target_url=bindparam("target_url"),
            updated_at=bindparam("updated_at"),
            completed_at=bindparam("completed_at"),
        )
        await self._conn.execute(stmt, [dict(o) for o in outcomes])

    async def add_attempts(self, new: Sequence[Attempt]) -> None:
        if not new:
            return
        if self._dialect == "postgresql":
            await self._conn.execute(_ADD_ATTEMPTS_POSTGRES, _attempt_arrays(new))
        else:
            await self._conn.execute(insert(attempts), [_attempt_row(a) for a in new])

    async def fail_leased(self, ids: Sequence[str], token: str, reason: str, now: datetime) -> int:
        """End leased rows without an attempt (their endpoint is disabled)."""
        if not ids:
            return 0
        result = await self._conn.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(ids), deliveries.c.lease_token == token, IS_PENDING)
            .values(
                status=FAILED,
                next_attempt_at=None,
                lease_token=None,
                last_error=reason,
                updated_at=now,
                completed_at=now,
            )
        )
        return result.rowcount

    async def fail_pending_of_webhook(self, webhook_id: str, now: datetime) -> int:
        """A disabled endpoint's waiting deliveries end ``failed`` (``recover`` brings them back
        once it is enabled again); rows in flight finish on their own."""
        result = await self._conn.execute(
            update(deliveries)
            .where(deliveries.c.webhook_id == webhook_id, IS_PENDING, not_(in_flight(now)))
            .values(
                status=FAILED,
                next_attempt_at=None,
                lease_token=None,
                last_error=REASON_ENDPOINT_DISABLED,
                updated_at=now,
                completed_at=now,
            )
        )
        return result.rowcount

    async def postpone_webhook(self, webhook_id: str, until: datetime, now: datetime) -> int:
        """Move an endpoint's due rows to ``until`` (its breaker opened), so claims stop
        reading them; rows already due later, or in flight, are left alone."""
        result = await self._conn.execute(
            update(deliveries)
            .where(
                deliveries.c.webhook_id == webhook_id,
                IS_PENDING,
                deliveries.c.next_attempt_at < until,
                not_(in_flight(now)),
            )
            .values(next_attempt_at=until, lease_token=None, updated_at=now)
        )
        return result.rowcount

    # --- endpoint health -------------------------------------------------------------------

    async def mark_failing(self, webhook_id: str, now: datetime) -> None:
        """Start the failure clock of an endpoint, unless it is already running."""
        await self._conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.failing_since.is_(None))
            .values(failing_since=now)
        )

    async def clear_failing(self, webhook_id: str) -> None:
        await self._conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.failing_since.is_not(None))
            .values(failing_since=None)
        )

    async def clear_failing_many(self, webhook_ids: Collection[str]) -> None:
        if webhook_ids:
            await self._conn.execute(
                update(webhooks)
                .where(webhooks.c.id.in_(list(webhook_ids)), webhooks.c.failing_since.is_not(None))
                .values(failing_since=None)
            )

    async def disable_webhook(self, webhook_id: str, reason: str, now: datetime) -> bool:
        """True if this call disabled an active endpoint (so one worker tells the account)."""
        result = await self._conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.status == "active")
            .values(status="disabled", disabled_reason=reason, disabled_at=now, updated_at=now)
        )
        return bool(result.rowcount)
