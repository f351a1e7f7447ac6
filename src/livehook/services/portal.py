"""Signing in to the developer portal: users, sign-in links, browser sessions.

Passwords are hashed with argon2id (argon2-cffi); tokens (links, sessions) are 256-bit random
values of which only the SHA-256 is stored, like API keys.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from livehook import ids
from livehook.clock import Clock, system_clock
from livehook.domain.accounts import Account, Principal
from livehook.domain.portal import (
    CAPABILITIES,
    SESSION_TTL,
    FailureWindow,
    PortalIdentity,
    PortalUser,
    UnknownCapabilityError,
    check_password,
    hash_token,
    link_ttl,
    normalize_capabilities,
    normalize_email,
)
from livehook.services.errors import Conflict, InvalidRequest, ServiceError
from livehook.services.idempotency import Idempotency, claim, record
from livehook.storage.database import Database
from livehook.storage.repositories.accounts import AccountRepository
from livehook.storage.repositories.portal import DuplicateEmailError, PortalRepository

TOKEN_BYTES = 32
# Failed sign-ins allowed per window: per email (guessing one person's password) and per
# client address (trying many emails).
FAILURES_PER_EMAIL = 5
FAILURES_PER_ADDRESS = 20
FAILURE_WINDOW = timedelta(minutes=15)


class SignInRefused(ServiceError):
    status = 401
    code = "sign_in_refused"


class TooManyAttempts(ServiceError):
    status = 429
    code = "rate_limited"


@dataclass(frozen=True, slots=True)
class MintedLink:
    token: str
    capabilities: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new browser session: the token goes into the cookie and nowhere else."""

    token: str
    expires_at: datetime


class PortalService:
    def __init__(
        self, db: Database, clock: Clock = system_clock, hasher: PasswordHasher | None = None
    ) -> None:
        self._db = db
        self._clock = clock
        self._hasher = hasher or PasswordHasher()
        self._decoy_hash: str | None = None  # made on first use: hashing costs ~50 ms, 64 MiB
        self._by_email = FailureWindow(FAILURES_PER_EMAIL, FAILURE_WINDOW)
        self._by_address = FailureWindow(FAILURES_PER_ADDRESS, FAILURE_WINDOW)

    # --- users ----------------------------------------------------------------------------

    async def create_user(self, *, account_name: str, email: str, password: str) -> PortalUser:
        """A user of the account named ``account_name`` (made if new, like `keys create`)."""
        try:
            email = normalize_email(email)
        except ValueError as exc:
            raise InvalidRequest(str(exc), field="email") from None
        try:
            check_password(password)
        except ValueError as exc:
            raise InvalidRequest(str(exc), field="password") from None
        if not account_name.strip():
            raise InvalidRequest("an account name is required", field="account")
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        now = self._clock()
        try:
            async with self._db.transaction() as tx:
                accounts = AccountRepository(tx)
                account = await accounts.by_name(account_name)
                if account is None:
                    account = Account(id=ids.new_id("acct"), name=account_name, created_at=now)
                    await accounts.add(account)
                user = PortalUser(ids.new_id("usr"), account.id, email, now, None)
                await PortalRepository(tx).add_user(user, password_hash)
        except DuplicateEmailError:
            raise Conflict(f"a portal user with the email {email} exists", field="email") from None
        return user

    async def users(self) -> list[tuple[PortalUser, str]]:
        async with self._db.read() as tx:
            return await PortalRepository(tx).users()

    # --- sign-in --------------------------------------------------------------------------

    async def sign_in_password(self, email: str, password: str, address: str) -> SignedIn:
        """A session for the right password; refused alike for an unknown email or a wrong
        password, and refused outright after too many failures for the email or address."""
        now = self._clock()
        email = email.strip().lower()
        if self._by_email.blocked(email, now) or self._by_address.blocked(address, now):
            raise TooManyAttempts("too many failed sign-ins: wait 15 minutes and try again")
        async with self._db.read() as tx:
            found = await PortalRepository(tx).user_by_email(email)
        stored = found[1] if found else self._decoy()
        if not await asyncio.to_thread(self._verify, stored, password[:2048]) or found is None:
            self._by_email.fail(email, now)
            self._by_address.fail(address, now)
            raise SignInRefused("wrong email or password", field="password")
        user = found[0]
        self._by_email.clear(email)
        rehashed = self._rehash(stored, password)
        async with self._db.transaction() as tx:
            repo = PortalRepository(tx)
            await repo.signed_in(user.id, now, rehashed)
            return await self._start(repo, user.account_id, user.id, CAPABILITIES, now)

    async def sign_in_link(self, token: str) -> SignedIn:
        """Trade a sign-in link for a session; a link works once, until it expires."""
        now = self._clock()
        async with self._db.transaction() as tx:
            repo = PortalRepository(tx)
            await repo.delete_expired(now)
            used = await repo.use_link(hash_token(token), now)
            if used is None:
                raise SignInRefused(
                    "this sign-in link has expired or was already used: ask for a new one"
                )
            account_id, capabilities = used
            return await self._start(repo, account_id, None, capabilities, now)

    async def mint_link(
        self,
        principal: Principal,
        capabilities: Collection[str] = (),
        expires_in: int | None = None,
        *,
        idempotency: Idempotency[MintedLink] | None = None,
    ) -> MintedLink:
        try:
            granted = normalize_capabilities(capabilities)
        except UnknownCapabilityError as exc:
            raise InvalidRequest(str(exc), field="capabilities") from None
        try:
            ttl = link_ttl(expires_in)
        except ValueError as exc:
            raise InvalidRequest(str(exc), field="expires_in") from None
        return await self.mint_link_for(principal.account_id, granted, ttl, idempotency)

    async def mint_link_for(
        self,
        account_id: str,
        capabilities: tuple[str, ...],
        ttl: timedelta,
        idempotency: Idempotency[MintedLink] | None = None,
    ) -> MintedLink:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._clock()
        async with self._db.transaction() as tx:
            if idempotency is not None:
                await claim(tx, account_id, idempotency, now)
            await PortalRepository(tx).add_link(
                link_id=ids.new_id("plk"),
                account_id=account_id,
                token_hash=hash_token(token),
                capabilities=capabilities,
                created_at=now,
                expires_at=now + ttl,
            )
            minted = MintedLink(token, capabilities, now + ttl)
            if idempotency is not None:
                await record(tx, account_id, idempotency, minted)
        return minted

    async def identify(self, token: str) -> PortalIdentity | None:
        async with self._db.read() as tx:
            return await PortalRepository(tx).identity(hash_token(token), self._clock())

    async def sign_out(self, token: str) -> None:
        async with self._db.transaction() as tx:
            await PortalRepository(tx).end_session(hash_token(token))

    # --- helpers --------------------------------------------------------------------------

    @staticmethod
    async def _start(
        repo: PortalRepository,
        account_id: str,
        user_id: str | None,
        capabilities: tuple[str, ...],
        now: datetime,
    ) -> SignedIn:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        await repo.add_session(
            session_id=ids.new_id("pss"),
            token_hash=hash_token(token),
            account_id=account_id,
            user_id=user_id,
            capabilities=capabilities,
            created_at=now,
            expires_at=now + SESSION_TTL,
        )
        return SignedIn(token, now + SESSION_TTL)

    def _decoy(self) -> str:
        """Verified against when the email is unknown, so both cases cost the same time."""
        if self._decoy_hash is None:
            self._decoy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        return self._decoy_hash

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False

    def _rehash(self, stored: str, password: str) -> str | None:
        try:
            return self._hasher.hash(password) if self._hasher.check_needs_rehash(stored) else None
        except InvalidHashError:
            return None
