"""The delivery queue: the one owner of every write to the ``deliveries`` table's queue state.

As procrastinate's job manager is for its jobs: ``enqueue`` (and wake the workers), ``claim``
with a lease, ``release``, ``finish`` (outcomes and their attempts), ``fail_leased`` /
``fail_pending`` (a disabled endpoint), ``postpone`` (a breaker opened), ``redeliver``,
``recover``, ``hurry`` / ``replay`` (``livehook listen`` is back) and ``prune`` (retention).
Values in and out are typed (``NewDelivery``, ``Lease``, ``Release``, ``Outcome``, ``Delivery``);
the statements live in ``delivery_queue_sql.py``.

The wake-up: every write that makes rows due sends ``pg_notify`` inside the caller's transaction
on PostgreSQL (delivered at commit), so no caller has to remember it. On SQLite a worker in
another process sees the commit through ``PRAGMA data_version`` (``storage/notify.py``); a
worker in this process is woken by the ``Wakeup`` the services set after their commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from sqlalchemy.dialects import sqlite

from livehook.domain.deliveries import PENDING, Attempt, Delivery, NewDelivery
from livehook.storage import delivery_queue_sql as sql
from livehook.storage.database import Database, Transaction
from livehook.storage.records import from_row, values_of
from livehook.storage.types import UTCDateTime

# A time as SQLite's column stores it, by UTCDateTime's own conversion: values inside a JSON
# parameter bypass the column's type, and the text must sort and compare with every other time.
_SQLITE_DIALECT = sqlite.dialect()
_SQLITE_BIND = UTCDateTime().dialect_impl(_SQLITE_DIALECT).bind_processor(_SQLITE_DIALECT)


def _sqlite_time(value: datetime | None) -> Any:
    return value if _SQLITE_BIND is None else _SQLITE_BIND(value)


def _json(rows: Sequence[Sequence[Any]]) -> str:
    return orjson.dumps(rows).decode()


RedeliverResult = Literal["queued", "in_flight", "pruned", "not_found"]


@dataclass(frozen=True, slots=True)
class Lease:
    """A claim's hold on its rows: every later write for them names ``token``."""

    token: str
    until: datetime


@dataclass(frozen=True, slots=True)
class Release:
    """A leased row handed back unattempted, due again ``at``."""

    delivery_id: str
    token: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt did to its delivery, and the attempt itself. ``signature_scheme`` and
    ``target_url`` are what the attempt used: the endpoint's settings of the moment."""

    delivery_id: str
    token: str
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    signature_scheme: str
    target_url: str
    at: datetime
    attempt: Attempt

    def columns(self) -> dict[str, Any]:
        """The outcome's values by column name (``delivery_queue_sql.OUTCOME_COLUMNS``)."""
        return {
            "status": self.status,
            "attempt_count": self.attempt_count,
            "next_attempt_at": self.next_attempt_at,
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
            "signature_scheme": self.signature_scheme,
            "target_url": self.target_url,
            "updated_at": self.at,
            "completed_at": None if self.status == PENDING else self.at,
        }


def body_id(body: str) -> str:
    """The key of a body in ``delivery_bodies``: its bytes' SHA-256."""
    return hashlib.sha256(body.encode()).hexdigest()


def delivery_values(row: NewDelivery | Delivery, **overrides: Any) -> dict[str, Any]:
    """A delivery's column values: its body by reference (the body is stored on its own)."""
    values = values_of(row, **overrides)
    body = values.pop("request_body")
    values["body_id"] = None if body is None else body_id(body)
    return values


def header_pairs(headers: Mapping[str, str]) -> list[list[str]]:
    # Pairs, not an object: JSONB reorders object keys, and the log shows headers as sent.
    return [[name, value] for name, value in headers.items()]


def headers_of(stored: Any) -> dict[str, str]:
    return dict(stored) if isinstance(stored, dict) else {name: value for name, value in stored}


def attempt_values(attempt: Attempt) -> dict[str, Any]:
    """An attempt's column values; the headers as pairs."""
    response = attempt.response_headers
    return values_of(
        attempt,
        request_headers=header_pairs(attempt.request_headers),
        response_headers=None if response is None else header_pairs(response),
    )


def attempt_of(row: Any) -> Attempt:
    response = row.response_headers
    return from_row(
        Attempt,
        row,
        request_headers=headers_of(row.request_headers),
        response_headers=None if response is None else headers_of(response),
    )


class DeliveryQueue:
    """The queue over one transaction; build one per transaction, as a repository."""

    def __init__(self, tx: Transaction) -> None:
        self._conn = tx.conn
        self._postgres = tx.dialect == "postgresql"

    async def _wake(self) -> None:
        if self._postgres:
            await self._conn.execute(sql.NOTIFY_POSTGRES)

    # --- in ------------------------------------------------------------------------------

    async def enqueue(self, rows: Sequence[NewDelivery], *, now: datetime) -> int:
        """Insert ``rows`` as pending, due ``now``, and wake the workers: each distinct body once,
        then the rows, one statement each."""
        if not rows:
            return 0
        keys: dict[str, str] = {}  # body -> its key: a fan-out hashes its one body once
        for row in rows:
            if row.request_body not in keys:
                keys[row.request_body] = body_id(row.request_body)
        await self._conn.execute(
            sql.ADD_BODIES_POSTGRES if self._postgres else sql.ADD_BODIES_SQLITE,
            [{"id": key, "body": body} for body, key in keys.items()],
        )
        values = [
            (*(getattr(row, name) for name in sql.NEW_COLUMNS[:-1]), keys[row.request_body])
            for row in rows
        ]
        if self._postgres:
            arrays = {
                f"b_{name}": list(column)
                for name, column in zip(sql.NEW_COLUMNS, zip(*values, strict=True), strict=True)
            }
            await self._conn.execute(sql.ENQUEUE_POSTGRES, {**arrays, "b_now": now})
        else:
            await self._conn.execute(sql.ENQUEUE_SQLITE, {"b_rows": _json(values), "b_now": now})
        await self._wake()
        return len(rows)

    # --- the worker's side ---------------------------------------------------------------

    async def claim(
        self, lease: Lease, *, now: datetime, limit: int, listen: bool | None = None
    ) -> list[Delivery]:
        """Lease up to ``limit`` due rows, oldest due first, ordered by id. ``listen``: None,
        every target; True, only `livehook listen` endpoints; False, all the others (serve's
        own worker and its worker processes split the queue so)."""
        params = {"b_now": now, "b_until": lease.until, "b_token": lease.token, "b_limit": limit}
        if self._postgres:
            stmt = sql.CLAIM_POSTGRES[listen]
            rows = (await self._conn.execute(stmt, params)).all()
        else:
            rows = (await self._conn.execute(sql.CLAIM_SQLITE[listen], params)).all()
        # By position: the claim's columns are in field order (``delivery_queue_sql``).
        return sorted((Delivery(*r) for r in rows), key=lambda d: d.id)

    async def any_due(self, *, now: datetime, listen: bool | None = None) -> bool:
        """Whether ``claim`` would find a row now (``listen`` as there). Safe in a read-only
        transaction."""
        params = {"b_now": now}
        return (await self._conn.execute(sql.ANY_DUE[listen], params)).first() is not None

    async def release(self, releases: Sequence[Release], *, now: datetime) -> None:
        """Give leased rows back, each due again at its ``at``; no attempt is counted."""
        if not releases:
            return
        rows = [
            {"b_id": r.delivery_id, "b_token": r.token, "b_at": r.at, "b_now": now}
            for r in releases
        ]
        await self._conn.execute(sql.RELEASE, rows)

    async def finish(self, outcomes: Sequence[Outcome]) -> set[str]:
        """Write each outcome whose row still holds its lease, and its attempt; returns the ids
        written. The others' leases were lost: another worker owns those rows now, and nothing
        of them is written. One statement for the rows and one for the attempts."""
        if not outcomes:
            return set()
        if self._postgres:
            arrays: dict[str, list[Any]] = {
                "b_id": [o.delivery_id for o in outcomes],
                "b_token": [o.token for o in outcomes],
            }
            columns = [o.columns() for o in outcomes]
            for name, _ in sql.OUTCOME_COLUMNS:
                arrays[f"b_{name}"] = [c[name] for c in columns]
            written = set((await self._conn.execute(sql.FINISH_POSTGRES, arrays)).scalars())
            kept = [o for o in outcomes if o.delivery_id in written]
        else:
            rows = [
                [
                    o.delivery_id,
                    o.token,
                    *(
                        _sqlite_time(value) if name in sql.OUTCOME_TIMES else value
                        for name, value in o.columns().items()
                    ),
                ]
                for o in outcomes
            ]
            stmt = sql.FINISH_SQLITE
            written = set((await self._conn.execute(stmt, {"b_rows": _json(rows)})).scalars())
            kept = [o for o in outcomes if o.delivery_id in written]
        await self._add_attempts([o.attempt for o in kept])
        return {o.delivery_id for o in kept}

    async def _add_attempts(self, new: Sequence[Attempt]) -> None:
        if not new:
            return
        rows = [attempt_values(a) for a in new]
        if not self._postgres:
            table = [
                [
                    _sqlite_time(row[name]) if name in sql.ATTEMPT_TIMES else row[name]
                    for name in sql.ATTEMPT_NAMES
                ]
                for row in rows
            ]
            await self._conn.execute(sql.ADD_ATTEMPTS_SQLITE, {"b_rows": _json(table)})
            return
        for row in rows:
            row["request_headers"] = orjson.dumps(row["request_headers"]).decode()
            if row["response_headers"] is not None:
                row["response_headers"] = orjson.dumps(row["response_headers"]).decode()
        arrays = {name: [row[name] for row in rows] for name in sql.ATTEMPT_NAMES}
        await self._conn.execute(sql.ADD_ATTEMPTS_POSTGRES, arrays)

    async def fail_leased(
        self, ids: Sequence[str], token: str, *, reason: str, now: datetime
    ) -> int:
        """End leased rows without an attempt (their endpoint is disabled)."""
        if not ids:
            return 0
        params = {"b_ids": list(ids), "b_token": token, "b_reason": reason, "b_now": now}
        return (await self._conn.execute(sql.FAIL_LEASED, params)).rowcount

    async def fail_pending(self, webhook_id: str, *, now: datetime) -> int:
        """A disabled endpoint's waiting deliveries end ``failed`` (``recover`` brings them back
        once it is enabled again); rows in flight finish on their own."""
        params = {"b_webhook": webhook_id, "b_now": now}
        return (await self._conn.execute(sql.FAIL_PENDING_OF_WEBHOOK, params)).rowcount

    async def postpone(self, webhook_id: str, *, until: datetime, now: datetime) -> int:
        """Move an endpoint's due rows to ``until`` (its breaker opened), so claims stop
        reading them; rows already due later, or in flight, are left alone."""
        params = {"b_webhook": webhook_id, "b_until": until, "b_now": now}
        return (await self._conn.execute(sql.POSTPONE_WEBHOOK, params)).rowcount

    # --- back into the queue -------------------------------------------------------------

    async def redeliver(self, delivery_id: str, *, now: datetime) -> RedeliverResult:
        """Queue one more attempt of the same delivery now; its attempts are kept."""
        has_body = (
            await self._conn.execute(sql.REDELIVER_BODY, {"b_id": delivery_id})
        ).scalar_one_or_none()
        if has_body is None:
            return "not_found"
        if not has_body:
            return "pruned"
        params = {"b_id": delivery_id, "b_now": now}
        if not (await self._conn.execute(sql.REDELIVER, params)).rowcount:
            return "in_flight"
        await self._wake()
        return "queued"

    async def recover(self, webhook_id: str, *, since: datetime, now: datetime) -> int:
        """Queue again every failed delivery of the endpoint created since ``since``."""
        params = {"b_webhook": webhook_id, "b_since": since, "b_now": now}
        return await self._woken((await self._conn.execute(sql.RECOVER, params)).rowcount)

    async def hurry(self, webhook_id: str, *, now: datetime) -> int:
        """Every pending delivery of the endpoint not in flight comes due now (its listener is
        back: the retries it waited for need not wait longer)."""
        params = {"b_webhook": webhook_id, "b_now": now}
        return await self._woken((await self._conn.execute(sql.HURRY_WEBHOOK, params)).rowcount)

    async def replay(
        self, webhook_id: str, *, since: datetime, event_types: Sequence[str], now: datetime
    ) -> int:
        """Every finished delivery of the endpoint since ``since`` of ``event_types``, succeeded
        or failed, is sent again (not those whose payload was pruned; pending ones are already
        on their way)."""
        params = {
            "b_webhook": webhook_id,
            "b_since": since,
            "b_types": list(event_types),
            "b_now": now,
        }
        return await self._woken((await self._conn.execute(sql.REPLAY_WEBHOOK, params)).rowcount)

    async def _woken(self, count: int) -> int:
        if count:
            await self._wake()
        return count

    # --- retention -----------------------------------------------------------------------

    async def prune(self, *, older_than: datetime, now: datetime, limit: int) -> int:
        """Drop the bodies of up to ``limit`` deliveries created before ``older_than``.

        Attempts stay. A delivery still waiting for an attempt ends ``failed``: without its
        body it can never be sent. Rows in flight are left for a later pass. A body goes once no
        delivery refers to it.
        """
        batch = {"b_older_than": older_than, "b_now": now, "b_limit": limit}
        found = (await self._conn.execute(sql.PRUNE_BATCH, batch)).all()
        if not found:
            return 0
        ids = [row.id for row in found]
        pruned = (await self._conn.execute(sql.PRUNE, {"b_ids": ids, "b_now": now})).rowcount
        bodies = list({row.body_id for row in found if row.body_id is not None})
        if bodies:
            await self._conn.execute(sql.PRUNE_BODIES, {"b_bodies": bodies})
        return int(pruned)


async def prune_payloads(
    db: Database, *, older_than: datetime, now: datetime, batch_size: int
) -> int:
    """``DeliveryQueue.prune`` a batch per transaction (short ones: workers are never held up
    for long) until none is left; returns how many were pruned."""
    total = 0
    while True:
        async with db.transaction() as tx:
            pruned = await DeliveryQueue(tx).prune(older_than=older_than, now=now, limit=batch_size)
        total += pruned
        if pruned < batch_size:
            return total
