"""API key scopes. A key with no scopes has full access."""

from __future__ import annotations

from collections.abc import Collection

WEBHOOKS_READ = "webhooks:read"
WEBHOOKS_WRITE = "webhooks:write"
SESSIONS_READ = "sessions:read"
SESSIONS_WRITE = "sessions:write"
DELIVERIES_READ = "deliveries:read"
DELIVERIES_WRITE = "deliveries:write"
STATS_READ = "stats:read"

ALL_SCOPES: tuple[str, ...] = (
    WEBHOOKS_READ,
    WEBHOOKS_WRITE,
    SESSIONS_READ,
    SESSIONS_WRITE,
    DELIVERIES_READ,
    DELIVERIES_WRITE,
    STATS_READ,
)


class UnknownScopeError(ValueError):
    pass


def normalize_scopes(scopes: Collection[str]) -> list[str]:
    """Validated, de-duplicated, in catalog order; unknown names are refused."""
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise UnknownScopeError(
            f"unknown scope(s): {', '.join(unknown)}; known scopes: {', '.join(ALL_SCOPES)}"
        )
    return [s for s in ALL_SCOPES if s in scopes]


def is_full_access(scopes: Collection[str]) -> bool:
    return not scopes


def allows(scopes: Collection[str], needed: str) -> bool:
    return is_full_access(scopes) or needed in scopes
