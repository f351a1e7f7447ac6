"""Accounts and their API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from livehook.domain.accounts import Account, ApiKey, Principal
from livehook.storage.database import Transaction
from livehook.storage.tables import accounts, api_keys


def _account(row: Any) -> Account:
    return Account(id=row.id, name=row.name, created_at=row.created_at)


def _api_key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        key_prefix=row.key_prefix,
        scopes=tuple(row.scopes),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class AccountRepository:
    def __init__(self, tx: Transaction) -> None:
        self._conn = tx.conn

    async def add(self, account: Account) -> None:
        await self._conn.execute(
            insert(accounts).values(id=account.id, name=account.name, created_at=account.created_at)
        )

    async def by_name(self, name: str) -> Account | None:
        row = (await self._conn.execute(select(accounts).where(accounts.c.name == name))).first()
        return _account(row) if row else None

    async def by_id(self, account_id: str) -> Account | None:
        result = await self._conn.execute(select(accounts).where(accounts.c.id == account_id))
        row = result.first()
        return _account(row) if row else None

    async def count(self) -> int:
        result = await self._conn.execute(select(accounts.c.id).limit(1))
        return len(result.all())


class ApiKeyRepository:
    def __init__(self, tx: Transaction) -> None:
        self._conn = tx.conn

    async def add(self, key: ApiKey, *, key_hash: str, callback_secret_encrypted: str) -> None:
        await self._conn.execute(
            insert(api_keys).values(
                id=key.id,
                account_id=key.account_id,
                name=key.name,
                key_hash=key_hash,
                key_prefix=key.key_prefix,
                scopes=list(key.scopes),
                callback_secret=callback_secret_encrypted,
                created_at=key.created_at,
                revoked_at=None,
            )
        )

    async def principal_for_hash(self, key_hash: str) -> Principal | None:
        """The caller a live (not revoked) key stands for; one indexed lookup per request."""
        query = (
            select(
                api_keys.c.id, api_keys.c.scopes, accounts.c.id.label("account_id"), accounts.c.name
            )
            .join(accounts, accounts.c.id == api_keys.c.account_id)
            .where(api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None))
        )
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        return Principal(
            account_id=row.account_id,
            account_name=row.name,
            key_id=row.id,
            scopes=tuple(row.scopes),
        )

    async def get(self, key_id: str, *, account_id: str | None = None) -> ApiKey | None:
        query = select(api_keys).where(api_keys.c.id == key_id)
        if account_id is not None:
            query = query.where(api_keys.c.account_id == account_id)
        row = (await self._conn.execute(query)).first()
        return _api_key(row) if row else None

    async def list_page(
        self, *, account_id: str | None = None, after: str | None = None, limit: int = 100
    ) -> list[ApiKey]:
        query = select(api_keys).order_by(api_keys.c.id).limit(limit)
        if account_id is not None:
            query = query.where(api_keys.c.account_id == account_id)
        if after is not None:
            query = query.where(api_keys.c.id > after)
        return [_api_key(r) for r in (await self._conn.execute(query)).all()]

    async def account_names(self, account_ids: set[str]) -> dict[str, str]:
        query = select(accounts.c.id, accounts.c.name).where(accounts.c.id.in_(account_ids))
        return {r.id: r.name for r in (await self._conn.execute(query)).all()}

    async def revoke(self, key_id: str, *, at: datetime, account_id: str | None = None) -> bool:
        """True if a live key was revoked now."""
        stmt = update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        if account_id is not None:
            stmt = stmt.where(api_keys.c.account_id == account_id)
        result = await self._conn.execute(stmt.values(revoked_at=at))
        return bool(result.rowcount)

    async def callback_secret(self, key_id: str) -> str | None:
        """The encrypted callback signing secret of a key."""
        query = select(api_keys.c.callback_secret).where(api_keys.c.id == key_id)
        return (await self._conn.execute(query)).scalar_one_or_none()

    async def callback_secrets(self, key_id: str, *, now: datetime) -> list[str]:
        """The encrypted callback secrets that sign now, newest first: the current one, and
        the one rotated out while its overlap lasts."""
        query = select(
            api_keys.c.callback_secret,
            api_keys.c.previous_callback_secret,
            api_keys.c.previous_callback_secret_expires_at,
        ).where(api_keys.c.id == key_id)
        row = (await self._conn.execute(query)).first()
        if row is None:
            return []
        secrets = [row.callback_secret]
        expires = row.previous_callback_secret_expires_at
        if row.previous_callback_secret and expires is not None and expires > now:
            secrets.append(row.previous_callback_secret)
        return secrets

    async def rotate_callback_secret(
        self, key_id: str, *, secret: str, previous_until: datetime | None
    ) -> None:
        """``secret`` (encrypted) becomes current; the old one signs beside it until
        ``previous_until`` (None: it stops at once)."""
        current = api_keys.c.callback_secret
        await self._conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id)
            .values(
                previous_callback_secret=current if previous_until is not None else None,
                previous_callback_secret_expires_at=previous_until,
                callback_secret=secret,
            )
        )
