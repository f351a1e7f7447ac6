"""The URL of a `livehook listen` endpoint: livehook makes it, no customer can register one."""

from __future__ import annotations

LISTEN_URL_SCHEME = "livehook-listen://"
# The error of an attempt made while no `livehook listen` socket was there to take it.
NOT_CONNECTED = "livehook listen is not connected"


def listen_url(api_key_id: str) -> str:
    """The URL of the listening endpoint of an API key: one per key."""
    return f"{LISTEN_URL_SCHEME}{api_key_id}"


def is_listen_url(url: str) -> bool:
    """Whether deliveries to ``url`` go to a developer's `livehook listen`, not over HTTP."""
    return url.startswith(LISTEN_URL_SCHEME)
