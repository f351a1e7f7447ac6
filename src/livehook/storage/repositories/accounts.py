"""Accounts and their API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from livehook.domain.accounts import Account, ApiKey, Principal
from livehook.storage.database import Transaction
from livehook.storage.records import columns_for, from_row, values_of
from livehook.storage.tables import accounts, api_keys

# A key's hash and callback secrets stay in storage: the record holds what may be shown.
_API_KEY_COLUMNS = columns_for(api_keys, ApiKey)


# Every API request runs it: built once, so SQLAlchemy neither rebuilds it nor walks it for its
# cache key each time (about half a millisecond of CPU per request, measured).
_PRINCIPAL_BY_HASH = (
    select(
        accounts.c.id.label("account_id"),
        accounts.c.name.label("account_name"),
        api_keys.c.id.label("key_id"),
        api_keys.c.scopes,
    )
    .join(accounts, accounts.c.id == api_keys.c.account_id)
    .where(api_keys.c.key_hash == bindparam("key_hash"), api_keys.c.revoked_at.is_(None))
)


def _api_key(row: Any) -> ApiKey:
    return from_row(ApiKey, row, scopes=tuple(row.scopes))


class AccountRepository:
    def __init__(self, tx: Transaction) -> None:
        self._conn = tx.conn

    async def add(self, account: Account) -> None:
        await self._conn.execute(insert(accounts).values(values_of(account)))

    async def by_name(self, name: str) -> Account | None:
        row = (await self._conn.execute(select(accounts).where(accounts.c.name == name))).first()
        return from_row(Account, row) if row else None

    async def by_id(self, account_id: str) -> Account | None:
        result = await self._conn.execute(select(accounts).where(accounts.c.id == account_id))
        row = result.first()
        return from_row(Account, row) if row else None

    async def count(self) -> int:
        result = await self._conn.execute(select(accounts.c.id).limit(1))
        return len(result.all())


class ApiKeyRepository:
    def __init__(self, tx: Transaction) -> None:
        self._conn = tx.conn

    async def add(self, key: ApiKey, *, key_hash: str, callback_secret_encrypted: str) -> None:
        await self._conn.execute(
            insert(api_keys).values(
                values_of(
                    key,
                    scopes=list(key.scopes),
                    key_hash=key_hash,
                    callback_secret=callback_secret_encrypted,
                    revoked_at=None,
                )
            )
        )

    async def principal_for_hash(self, key_hash: str) -> Principal | None:
        """The caller a live (not revoked) key stands for; one indexed lookup per request."""
        row = (await self._conn.execute(_PRINCIPAL_BY_HASH, {"key_hash": key_hash})).first()
        return from_row(Principal, row, scopes=tuple(row.scopes)) if row else None

    async def get(self, key_id: str, *, account_id: str | None = None) -> ApiKey | None:
        query = select(*_API_KEY_COLUMNS).where(api_keys.c.id == key_id)
        if account_id is not None:
            query = query.where(api_keys.c.account_id == account_id)
        row = (await self._conn.execute(query)).first()
        return _api_key(row) if row else None

    async def list_page(
        self, *, account_id: str | None = None, after: str | None = None, limit: int = 100
    ) -> list[ApiKey]:
        query = select(*_API_KEY_COLUMNS).order_by(api_keys.c.id).limit(limit)
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
