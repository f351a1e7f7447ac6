"""Portal users, sign-in links and browser sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from livehook.domain.portal import PortalIdentity, PortalUser
from livehook.storage.database import Transaction
from livehook.storage.records import from_row, from_row_part, values_of
from livehook.storage.tables import accounts, portal_links, portal_sessions, portal_users


class DuplicateEmailError(Exception):
    pass


class PortalRepository:
    def __init__(self, tx: Transaction) -> None:
        self._conn = tx.conn

    # --- users ----------------------------------------------------------------------------

    async def add_user(self, user: PortalUser, password_hash: str) -> None:
        """Raises ``DuplicateEmailError`` (the transaction is then aborted) for a taken email."""
        try:
            await self._conn.execute(
                insert(portal_users).values(
                    values_of(user, password_hash=password_hash, last_sign_in_at=None)
                )
            )
        except IntegrityError:
            raise DuplicateEmailError(user.email) from None

    async def user_by_email(self, email: str) -> tuple[PortalUser, str] | None:
        """The user and their password hash."""
        row = (
            await self._conn.execute(select(portal_users).where(portal_users.c.email == email))
        ).first()
        return (from_row_part(PortalUser, row), row.password_hash) if row else None

    async def users(self) -> list[tuple[PortalUser, str]]:
        """Every user with their account's name, by account then email."""
        query = (
            select(portal_users, accounts.c.name.label("account_name"))
            .join(accounts, accounts.c.id == portal_users.c.account_id)
            .order_by(accounts.c.name, portal_users.c.email)
        )
        return [
            (from_row_part(PortalUser, r), r.account_name)
            for r in (await self._conn.execute(query)).all()
        ]

    async def signed_in(self, user_id: str, at: datetime, password_hash: str | None) -> None:
        """Note the sign-in; store a re-hashed password when the hasher's parameters moved."""
        values: dict[str, Any] = {"last_sign_in_at": at}
        if password_hash is not None:
            values["password_hash"] = password_hash
        await self._conn.execute(
            update(portal_users).where(portal_users.c.id == user_id).values(**values)
        )

    # --- links ----------------------------------------------------------------------------

    async def add_link(
        self,
        *,
        link_id: str,
        account_id: str,
        token_hash: str,
        capabilities: tuple[str, ...],
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        await self._conn.execute(
            insert(portal_links).values(
                id=link_id,
                account_id=account_id,
                token_hash=token_hash,
                capabilities=list(capabilities),
                created_at=created_at,
                expires_at=expires_at,
                used_at=None,
            )
        )

    async def use_link(self, token_hash: str, now: datetime) -> tuple[str, tuple[str, ...]] | None:
        """Mark an unused, unexpired link used; (account id, capabilities), or None.

        One UPDATE decides: of two browsers racing with the same link, only one wins.
        """
        result = await self._conn.execute(
            update(portal_links)
            .where(
                portal_links.c.token_hash == token_hash,
                portal_links.c.used_at.is_(None),
                portal_links.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(portal_links.c.account_id, portal_links.c.capabilities)
        )
        row = result.first()
        return (row.account_id, tuple(row.capabilities)) if row else None

    # --- browser sessions -----------------------------------------------------------------

    async def add_session(
        self,
        *,
        session_id: str,
        token_hash: str,
        account_id: str,
        user_id: str | None,
        capabilities: tuple[str, ...],
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        await self._conn.execute(
            insert(portal_sessions).values(
                id=session_id,
                token_hash=token_hash,
                account_id=account_id,
                user_id=user_id,
                capabilities=list(capabilities),
                created_at=created_at,
                expires_at=expires_at,
            )
        )

    async def identity(self, token_hash: str, now: datetime) -> PortalIdentity | None:
        query = (
            select(
                portal_sessions.c.id.label("session_id"),
                portal_sessions.c.account_id,
                portal_sessions.c.capabilities,
                portal_sessions.c.expires_at,
                accounts.c.name.label("account_name"),
                portal_users.c.email,
            )
            .join(accounts, accounts.c.id == portal_sessions.c.account_id)
            .outerjoin(portal_users, portal_users.c.id == portal_sessions.c.user_id)
            .where(portal_sessions.c.token_hash == token_hash, portal_sessions.c.expires_at > now)
        )
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        return from_row(PortalIdentity, row, capabilities=tuple(row.capabilities))

    async def end_session(self, token_hash: str) -> None:
        await self._conn.execute(
            delete(portal_sessions).where(portal_sessions.c.token_hash == token_hash)
        )

    async def delete_expired(self, now: datetime) -> None:
        await self._conn.execute(delete(portal_sessions).where(portal_sessions.c.expires_at <= now))
        await self._conn.execute(delete(portal_links).where(portal_links.c.expires_at <= now))
