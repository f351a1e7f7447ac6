"""Webhook endpoints and their signing secrets."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from livehook.domain.webhooks import Webhook
from livehook.storage.database import Transaction
from livehook.storage.records import columns_for, from_row, from_row_part, values_of
from livehook.storage.tables import webhook_secrets, webhooks

# The fan-out's candidates, read on every report: built once (see repositories/sessions.py).
_ACTIVE_FOR_KEY = select(webhooks).where(
    webhooks.c.api_key_id == bindparam("api_key_id"), webhooks.c.status == "active"
)


class DuplicateWebhookError(Exception):
    """The (API key, URL, model) is taken: a concurrent write won the race past the check."""


def _is_unique_violation(exc: IntegrityError) -> bool:
    # PostgreSQL's SQLSTATE unique_violation; SQLite has no codes on its exceptions.
    return getattr(exc.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(
        exc.orig
    )


@dataclass(frozen=True, slots=True)
class StoredSecret:
    id: str
    secret: str  # encrypted
    created_at: datetime
    expires_at: datetime | None


def _to_webhook(row: Any, decode_headers: Callable[[str | None], Mapping[str, str]]) -> Webhook:
    # Stored differently: events as a JSON list, "" for every model, headers encrypted.
    return from_row(
        Webhook,
        row,
        events=tuple(row.events),
        model=row.model or None,
        headers=decode_headers(row.headers),
    )


class WebhookRepository:
    """``headers`` are stored encrypted: the caller supplies the codec (storage holds no keys)."""

    def __init__(
        self,
        tx: Transaction,
        decode_headers: Callable[[str | None], Mapping[str, str]] = lambda _: {},
    ) -> None:
        self._conn = tx.conn
        self._decode = decode_headers

    async def add(self, webhook: Webhook, *, headers_encrypted: str | None) -> None:
        """Raises ``DuplicateWebhookError`` if another webhook holds the (key, URL, model)."""
        await self._execute_unique(
            insert(webhooks).values(
                values_of(
                    webhook,
                    events=list(webhook.events),
                    model=webhook.model or "",
                    headers=headers_encrypted,
                    failing_since=None,
                )
            )
        )

    async def get(self, webhook_id: str, *, account_id: str) -> Webhook | None:
        query = select(webhooks).where(
            webhooks.c.id == webhook_id, webhooks.c.account_id == account_id
        )
        row = (await self._conn.execute(query)).first()
        return _to_webhook(row, self._decode) if row else None

    async def get_any(self, webhook_id: str) -> Webhook | None:
        """By id alone: for the delivery worker, which acts for every account."""
        row = (
            await self._conn.execute(select(webhooks).where(webhooks.c.id == webhook_id))
        ).first()
        return _to_webhook(row, self._decode) if row else None

    async def get_many_any(self, webhook_ids: Collection[str]) -> dict[str, Webhook]:
        """``get_any`` for many at once (the worker's claim batch), keyed by id."""
        if not webhook_ids:
            return {}
        query = select(webhooks).where(webhooks.c.id.in_(list(webhook_ids)))
        return {row.id: _to_webhook(row, self._decode) for row in await self._conn.execute(query)}

    async def find_duplicate(self, api_key_id: str, url: str, model: str | None) -> str | None:
        query = select(webhooks.c.id).where(
            webhooks.c.api_key_id == api_key_id,
            webhooks.c.url == url,
            webhooks.c.model == (model or ""),
        )
        return (await self._conn.execute(query)).scalar_one_or_none()

    async def list_page(
        self,
        *,
        account_id: str,
        after: str | None = None,
        limit: int = 50,
        api_key_id: str | None = None,
        status: str | None = None,
    ) -> list[Webhook]:
        query = (
            select(webhooks)
            .where(webhooks.c.account_id == account_id)
            .order_by(webhooks.c.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(webhooks.c.id > after)
        if api_key_id is not None:
            query = query.where(webhooks.c.api_key_id == api_key_id)
        if status is not None:
            query = query.where(webhooks.c.status == status)
        return [_to_webhook(r, self._decode) for r in (await self._conn.execute(query)).all()]

    async def active_for_key(self, api_key_id: str) -> list[Webhook]:
        """The fan-out candidates of one API key (filters are applied by the caller)."""
        rows = (await self._conn.execute(_ACTIVE_FOR_KEY, {"api_key_id": api_key_id})).all()
        return [_to_webhook(r, self._decode) for r in rows]

    async def active_for_account(self, account_id: str) -> list[Webhook]:
        query = select(webhooks).where(
            webhooks.c.account_id == account_id, webhooks.c.status == "active"
        )
        return [_to_webhook(r, self._decode) for r in (await self._conn.execute(query)).all()]

    async def update(self, webhook_id: str, values: Mapping[str, Any]) -> None:
        """Column values as stored (``model`` "" for all, ``headers`` already encrypted).

        Raises ``DuplicateWebhookError`` if the new (URL, model) is taken for the key.
        """
        await self._execute_unique(
            update(webhooks).where(webhooks.c.id == webhook_id).values(**values)
        )

    async def _execute_unique(self, statement: Any) -> None:
        try:
            await self._conn.execute(statement)
        except IntegrityError as exc:
            if _is_unique_violation(exc):
                raise DuplicateWebhookError from exc
            raise

    async def delete(self, webhook_id: str, *, account_id: str) -> bool:
        result = await self._conn.execute(
            delete(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.account_id == account_id)
        )
        return bool(result.rowcount)

    # --- secrets -------------------------------------------------------------------------

    async def add_secret(
        self, secret_id: str, webhook_id: str, encrypted: str, created_at: datetime
    ) -> None:
        await self._conn.execute(
            insert(webhook_secrets).values(
                id=secret_id,
                webhook_id=webhook_id,
                secret=encrypted,
                created_at=created_at,
                expires_at=None,
            )
        )

    async def secrets(self, webhook_id: str, *, now: datetime) -> list[StoredSecret]:
        """The secrets that sign now, newest first (the current one, then overlapping ones)."""
        query = (
            select(*columns_for(webhook_secrets, StoredSecret))
            .where(
                webhook_secrets.c.webhook_id == webhook_id,
                (webhook_secrets.c.expires_at.is_(None)) | (webhook_secrets.c.expires_at > now),
            )
            .order_by(webhook_secrets.c.created_at.desc(), webhook_secrets.c.id.desc())
        )
        return [from_row(StoredSecret, r) for r in await self._conn.execute(query)]

    async def secrets_of(
        self, webhook_ids: Collection[str], *, now: datetime
    ) -> dict[str, list[StoredSecret]]:
        """``secrets`` of many webhooks in one query, keyed by webhook id."""
        found: dict[str, list[StoredSecret]] = {webhook_id: [] for webhook_id in webhook_ids}
        if not found:
            return found
        query = (
            select(webhook_secrets.c.webhook_id, *columns_for(webhook_secrets, StoredSecret))
            .where(
                webhook_secrets.c.webhook_id.in_(list(found)),
                (webhook_secrets.c.expires_at.is_(None)) | (webhook_secrets.c.expires_at > now),
            )
            .order_by(webhook_secrets.c.created_at.desc(), webhook_secrets.c.id.desc())
        )
        for r in await self._conn.execute(query):
            found[r.webhook_id].append(from_row_part(StoredSecret, r))
        return found

    async def expire_secrets(self, secret_ids: list[str], at: datetime) -> None:
        if secret_ids:
            await self._conn.execute(
                update(webhook_secrets)
                .where(webhook_secrets.c.id.in_(secret_ids))
                .values(expires_at=at)
            )

    async def delete_expired_secrets(self, webhook_id: str, now: datetime) -> None:
        await self._conn.execute(
            delete(webhook_secrets).where(
                webhook_secrets.c.webhook_id == webhook_id, webhook_secrets.c.expires_at <= now
            )
        )

    # --- endpoint health (the delivery worker's) -------------------------------------------

    async def mark_failing(self, webhook_id: str, now: datetime) -> None:
        """Start the failure clock of an endpoint, unless it is already running."""
        await self._conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.failing_since.is_(None))
            .values(failing_since=now)
        )

    async def clear_failing(self, webhook_ids: Collection[str]) -> None:
        """Stop the failure clock of these endpoints (those whose clock runs)."""
        if webhook_ids:
            await self._conn.execute(
                update(webhooks)
                .where(webhooks.c.id.in_(list(webhook_ids)), webhooks.c.failing_since.is_not(None))
                .values(failing_since=None)
            )

    async def disable(self, webhook_id: str, reason: str, now: datetime) -> bool:
        """True if this call disabled an active endpoint (so one worker tells the account)."""
        result = await self._conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id, webhooks.c.status == "active")
            .values(status="disabled", disabled_reason=reason, disabled_at=now, updated_at=now)
        )
        return bool(result.rowcount)
