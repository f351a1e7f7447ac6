"""Accounts, API keys and the caller's identity."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from livehook.domain import scopes as scope_rules


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    account_id: str
    name: str
    key_prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None

    @property
    def full_access(self) -> bool:
        return scope_rules.is_full_access(self.scopes)


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of an API request."""

    account_id: str
    account_name: str
    key_id: str
    scopes: tuple[str, ...]

    def allows(self, scope: str) -> bool:
        return scope_rules.allows(self.scopes, scope)

    @property
    def full_access(self) -> bool:
        return scope_rules.is_full_access(self.scopes)


def hash_api_key(key: str) -> str:
    # Keys carry 256 random bits: a fast hash is safe and keeps every request's lookup cheap.
    return hashlib.sha256(key.encode()).hexdigest()
