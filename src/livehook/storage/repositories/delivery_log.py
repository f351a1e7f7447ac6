"""The delivery log: read deliveries and their attempts (every write to the queue's state is
``storage/delivery_queue.py``'s)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, cast, func, insert, select

from livehook.domain.deliveries import Attempt, Delivery
from livehook.storage.database import Transaction
from livehook.storage.delivery_queue import attempt_of
from livehook.storage.delivery_queue_sql import DELIVERY_COLUMNS, WITH_BODY
from livehook.storage.records import from_row
from livehook.storage.tables import attempts, deliveries, events


@dataclass(frozen=True, slots=True)
class DeliveryFilters:
    event_type: str | None = None
    model: str | None = None
    status: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    status_class: int | None = None  # 2, 4, 5: the last answer's status code was 2xx, 4xx, 5xx


class DeliveryLogRepository:
    def __init__(self, tx: Transaction) -> None:
        self._conn = tx.conn

    async def get(self, delivery_id: str, *, account_id: str | None = None) -> Delivery | None:
        query = (
            select(*DELIVERY_COLUMNS).select_from(WITH_BODY).where(deliveries.c.id == delivery_id)
        )
        if account_id is not None:
            query = query.where(deliveries.c.account_id == account_id)
        row = (await self._conn.execute(query)).first()
        return from_row(Delivery, row) if row else None

    async def attempts(self, delivery_id: str) -> list[Attempt]:
        query = (
            select(attempts)
            .where(attempts.c.delivery_id == delivery_id)
            .order_by(attempts.c.number, attempts.c.id)
        )
        return [attempt_of(r) for r in (await self._conn.execute(query)).all()]

    async def list_page(
        self,
        *,
        webhook_id: str | None = None,
        session_id: str | None = None,
        callbacks_of_key: str | None = None,
        account_id: str | None = None,
        filters: DeliveryFilters,
        before: str | None = None,
        limit: int = 50,
    ) -> list[Delivery]:
        """Newest first; ``before`` is the last id of the previous page. One endpoint's
        deliveries, one session's (to webhooks and its callback), one key's callbacks, or all
        of an account's."""
        scope = _scope(webhook_id, session_id, callbacks_of_key, account_id)
        query = select(*DELIVERY_COLUMNS).select_from(WITH_BODY).where(scope, *_conditions(filters))
        if before is not None:
            query = query.where(deliveries.c.id < before)
        query = query.order_by(deliveries.c.id.desc()).limit(limit)
        return [from_row(Delivery, r) for r in (await self._conn.execute(query)).all()]

    async def status_counts(
        self, webhook_id: str, windows: Sequence[datetime]
    ) -> list[dict[str, int]]:
        """Deliveries of the endpoint by status, for each window start: one pass for all."""
        per_window = [
            func.sum(case((deliveries.c.created_at >= start, 1), else_=0)) for start in windows
        ]
        query = (
            select(deliveries.c.status, *per_window)
            .where(deliveries.c.webhook_id == webhook_id, deliveries.c.created_at >= min(windows))
            .group_by(deliveries.c.status)
        )
        rows = (await self._conn.execute(query)).all()
        return [{row[0]: int(row[n + 1] or 0) for row in rows} for n in range(len(windows))]

    async def bucket_counts(
        self, webhook_id: str, since: datetime, step_seconds: int
    ) -> dict[tuple[int, str], int]:
        """Deliveries of the endpoint created since ``since``, counted per (unix time //
        ``step_seconds``, status): one pass for the webhook page's counts and charts."""
        created = deliveries.c.created_at
        if self._conn.dialect.name == "postgresql":
            epoch: Any = cast(func.floor(func.extract("epoch", created)), Integer)
        else:  # SQLite keeps naive UTC text, which strftime reads as UTC
            epoch = cast(func.strftime("%s", created), Integer)
        # `//`: SQLAlchemy 2's `/` divides truly, so each second would be a bucket of its own.
        bucket = (epoch // step_seconds).label("bucket")
        query = (
            select(bucket, deliveries.c.status, func.count())
            .where(deliveries.c.webhook_id == webhook_id, created >= since)
            .group_by(bucket, deliveries.c.status)
        )
        rows = (await self._conn.execute(query)).all()
        return {(int(number), status): count for number, status, count in rows}

    # --- events the delivery engine makes itself (test and operational events) -------------

    async def add_event(
        self,
        *,
        event_id: str,
        account_id: str,
        event_type: str,
        data: dict[str, Any],
        is_test: bool,
        created_at: datetime,
    ) -> None:
        """An event with no session: a test delivery's, or an operational one."""
        await self._conn.execute(
            insert(events).values(
                id=event_id,
                account_id=account_id,
                session_id=None,
                type=event_type,
                data=data,
                is_test=is_test,
                created_at=created_at,
            )
        )


def _scope(
    webhook_id: str | None,
    session_id: str | None,
    callbacks_of_key: str | None,
    account_id: str | None,
) -> ColumnElement[bool]:
    if webhook_id is not None:
        return deliveries.c.webhook_id == webhook_id
    if session_id is not None:
        return deliveries.c.session_id == session_id
    if callbacks_of_key is not None:
        return and_(deliveries.c.api_key_id == callbacks_of_key, deliveries.c.webhook_id.is_(None))
    if account_id is not None:
        return deliveries.c.account_id == account_id
    raise ValueError("list_page needs a webhook, a session, a key or an account")


def _conditions(filters: DeliveryFilters) -> list[ColumnElement[bool]]:
    """The log's filters as WHERE conditions; an unset filter adds none."""
    column, conditions = deliveries.c, []
    if filters.event_type is not None:
        conditions.append(column.event_type == filters.event_type)
    if filters.model is not None:
        conditions.append(column.model == filters.model)
    if filters.status is not None:
        conditions.append(column.status == filters.status)
    if filters.created_after is not None:
        conditions.append(column.created_at >= filters.created_after)
    if filters.created_before is not None:
        conditions.append(column.created_at < filters.created_before)
    if filters.status_class is not None:
        low = filters.status_class * 100
        conditions.append(column.last_status_code.between(low, low + 99))
    return conditions
