"""Accounts and API keys: create (shown once), list, revoke, authenticate."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from livehook import ids
from livehook.clock import Clock, system_clock
from livehook.constants import API_KEY_DISPLAY_CHARS
from livehook.crypto import SecretBox
from livehook.domain.accounts import Account, ApiKey, Principal, hash_api_key
from livehook.domain.scopes import UnknownScopeError, normalize_scopes
from livehook.domain.webhooks import rotation_overlap
from livehook.services.errors import InvalidRequest, NotFound
from livehook.services.idempotency import Idempotency, claim, record
from livehook.storage.database import Database
from livehook.storage.repositories.accounts import AccountRepository, ApiKeyRepository


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A new key with its two secrets in clear: the only time they are ever shown."""

    key: ApiKey
    account: Account
    plaintext: str
    callback_secret: str


@dataclass(frozen=True, slots=True)
class RotatedCallbackSecret:
    key: ApiKey
    callback_secret: str  # shown once
    previous_secret_expires_at: datetime | None


class KeyService:
    def __init__(self, db: Database, box: SecretBox, clock: Clock = system_clock) -> None:
        self._db = db
        self._box = box
        self._clock = clock

    async def create(
        self,
        *,
        account_name: str | None = None,
        account_id: str | None = None,
        name: str = "default",
        scopes: Collection[str] = (),
        idempotency: Idempotency[CreatedKey] | None = None,
    ) -> CreatedKey:
        """A key for an account given by id, or by name (the account is made if new)."""
        try:
            normalized = tuple(normalize_scopes(scopes))
        except UnknownScopeError as exc:
            raise InvalidRequest(str(exc), field="scopes") from None
        plaintext = ids.new_api_key()
        callback_secret = ids.new_callback_secret()
        now = self._clock()
        async with self._db.transaction() as tx:
            if idempotency is not None:
                assert account_id is not None, "idempotency keys belong to an account"
                await claim(tx, account_id, idempotency, now)
            accounts = AccountRepository(tx)
            account = await self._account(accounts, account_name, account_id)
            if account is None:
                assert account_name is not None
                account = Account(id=ids.new_id("acct"), name=account_name, created_at=now)
                await accounts.add(account)
            key = ApiKey(
                id=ids.new_id("key"),
                account_id=account.id,
                name=name,
                key_prefix=plaintext[:API_KEY_DISPLAY_CHARS],
                scopes=normalized,
                created_at=now,
                revoked_at=None,
            )
            await ApiKeyRepository(tx).add(
                key,
                key_hash=hash_api_key(plaintext),
                callback_secret_encrypted=self._box.encrypt(callback_secret),
            )
            created = CreatedKey(
                key=key, account=account, plaintext=plaintext, callback_secret=callback_secret
            )
            if idempotency is not None:
                await record(tx, account.id, idempotency, created)
        return created

    @staticmethod
    async def _account(
        repo: AccountRepository, name: str | None, account_id: str | None
    ) -> Account | None:
        if account_id is not None:
            account = await repo.by_id(account_id)
            if account is None:
                raise NotFound(f"account {account_id} not found")
            return account
        if not name:
            raise InvalidRequest("an account name is required", field="account")
        return await repo.by_name(name)

    async def authenticate(self, plaintext: str) -> Principal | None:
        # Every API request: one indexed lookup, and a revocation takes effect on the next one.
        async with self._db.single_read() as tx:
            return await ApiKeyRepository(tx).principal_for_hash(hash_api_key(plaintext))

    async def list_page(
        self, *, account_id: str | None = None, after: str | None = None, limit: int = 100
    ) -> list[ApiKey]:
        async with self._db.read() as tx:
            return await ApiKeyRepository(tx).list_page(
                account_id=account_id, after=after, limit=limit
            )

    async def account_names(self, account_ids: set[str]) -> dict[str, str]:
        async with self._db.read() as tx:
            return await ApiKeyRepository(tx).account_names(account_ids)

    async def get(self, key_id: str, *, account_id: str) -> ApiKey:
        """A key of the account (revoked or not); another account's is not found."""
        async with self._db.read() as tx:
            key = await ApiKeyRepository(tx).get(key_id, account_id=account_id)
        if key is None:
            raise NotFound(f"API key {key_id} not found")
        return key

    async def revoke(
        self,
        key_id: str,
        *,
        account_id: str | None = None,
        idempotency: Idempotency[ApiKey] | None = None,
    ) -> ApiKey:
        """Revoke at once; revoking an already revoked key is a no-op that still succeeds."""
        async with self._db.transaction() as tx:
            if idempotency is not None:
                assert account_id is not None, "idempotency keys belong to an account"
                await claim(tx, account_id, idempotency, self._clock())
            repo = ApiKeyRepository(tx)
            key = await repo.get(key_id, account_id=account_id)
            if key is None:
                raise NotFound(f"API key {key_id} not found")
            await repo.revoke(key_id, at=self._clock(), account_id=account_id)
            revoked = await repo.get(key_id)
            assert revoked is not None
            if idempotency is not None:
                await record(tx, revoked.account_id, idempotency, revoked)
        return revoked

    async def rotate_callback_secret(
        self,
        key_id: str,
        *,
        account_id: str,
        overlap_seconds: int | None = None,
        idempotency: Idempotency[RotatedCallbackSecret] | None = None,
    ) -> RotatedCallbackSecret:
        """A new callback secret for a key of the account; the old one keeps signing beside
        it for the overlap (default 24 h), as a webhook secret does."""
        try:
            overlap = rotation_overlap(overlap_seconds)
        except ValueError as exc:
            raise InvalidRequest(str(exc), field="overlap_seconds") from None
        secret = ids.new_callback_secret()
        now = self._clock()
        ends = now + overlap if overlap else None
        async with self._db.transaction() as tx:
            if idempotency is not None:
                await claim(tx, account_id, idempotency, now)
            repo = ApiKeyRepository(tx)
            key = await repo.get(key_id, account_id=account_id)
            if key is None or key.revoked_at is not None:
                raise NotFound(f"API key {key_id} not found")
            await repo.rotate_callback_secret(
                key_id, secret=self._box.encrypt(secret), previous_until=ends
            )
            rotated = RotatedCallbackSecret(key, secret, ends)
            if idempotency is not None:
                await record(tx, account_id, idempotency, rotated)
        return rotated

    async def has_any_account(self) -> bool:
        async with self._db.read() as tx:
            return await AccountRepository(tx).count() > 0
