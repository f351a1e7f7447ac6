"""Who may use the developer portal, and what each sign-in may do.

A browser session carries capabilities, as an API key carries scopes: ``view`` reads every page,
``manage`` changes keys and webhooks and sends test traffic, ``secrets`` rotates signing secrets.
Password sign-ins get all three; a sign-in link minted by the API gets what it was minted with
(always at least ``view``).
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

VIEW = "view"
MANAGE = "manage"
SECRETS = "secrets"
CAPABILITIES: tuple[str, ...] = (VIEW, MANAGE, SECRETS)

# Where a sign-in link lands: it trades the token for a session cookie.
LINK_PATH = "/portal/link"
DEFAULT_LINK_TTL = timedelta(hours=1)
MAX_LINK_TTL = timedelta(days=7)
# A browser stays signed in this long; signing out ends it at once.
SESSION_TTL = timedelta(hours=12)

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024  # argon2 would take any length; this bounds the work per attempt
MAX_EMAIL_CHARS = 254  # RFC 5321's path limit

# Deliberately loose: one @, something on each side, a dot in the domain, no spaces.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UnknownCapabilityError(ValueError):
    pass


def normalize_capabilities(requested: Collection[str]) -> tuple[str, ...]:
    """In catalog order, always with ``view``; unknown names are refused."""
    unknown = sorted(set(requested) - set(CAPABILITIES))
    if unknown:
        raise UnknownCapabilityError(
            f"unknown capabilities: {', '.join(unknown)}; known: {', '.join(CAPABILITIES)}"
        )
    wanted = {VIEW, *requested}
    return tuple(c for c in CAPABILITIES if c in wanted)


def link_ttl(seconds: int | None) -> timedelta:
    if seconds is None:
        return DEFAULT_LINK_TTL
    ttl = timedelta(seconds=seconds)
    if not timedelta(seconds=60) <= ttl <= MAX_LINK_TTL:
        raise ValueError("expires_in must be between 60 seconds and 7 days")
    return ttl


def normalize_email(raw: str) -> str:
    email = raw.strip().lower()
    if len(email) > MAX_EMAIL_CHARS or not _EMAIL.match(email):
        raise ValueError("enter an email address such as dev@example.com")
    return email


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise ValueError(f"the password may have at most {MAX_PASSWORD_CHARS} characters")


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits: a fast hash cannot be reversed and keeps lookups cheap.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PortalUser:
    id: str
    account_id: str
    email: str
    created_at: datetime
    last_sign_in_at: datetime | None


@dataclass(frozen=True, slots=True)
class PortalIdentity:
    """Who is behind a portal request: the account, the person (if any), the capabilities."""

    session_id: str
    account_id: str
    account_name: str
    email: str | None  # None for a sign-in link: the platform's customer, not a named user
    capabilities: tuple[str, ...]
    expires_at: datetime

    def allows(self, capability: str) -> bool:
        return capability in self.capabilities


@dataclass
class FailureWindow:
    """Failed attempts per key within a sliding window; time comes in as an argument.

    Held in memory by one process: a restart forgets it, and several `livehook serve`
    processes each allow their own budget. Enough to make guessing a password slow.
    """

    limit: int
    window: timedelta
    max_keys: int = 10_000  # past this many tracked keys, expired ones are swept out
    _failures: dict[str, deque[datetime]] = field(default_factory=dict)

    def blocked(self, key: str, now: datetime) -> bool:
        failures = self._failures.get(key)
        if not failures:
            return False
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return False
        return len(failures) >= self.limit

    def fail(self, key: str, now: datetime) -> None:
        if len(self._failures) >= self.max_keys:
            self._forget_expired(now)
        self._failures.setdefault(key, deque()).append(now)

    def _forget_expired(self, now: datetime) -> None:
        """Drop keys with no failure left in the window, so many one-off keys (a spray of
        made-up emails) cannot grow the table without bound."""
        for key in [k for k, f in self._failures.items() if f[-1] <= now - self.window]:
            del self._failures[key]

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)
