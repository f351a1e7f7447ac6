"""Webhook endpoints: what a customer registered, and the rules for its headers and secrets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_TIMEOUT_SECONDS = 5  # receivers are told to answer 2xx within 5 s
MIN_TIMEOUT_SECONDS = 1
MAX_TIMEOUT_SECONDS = 30  # longer only ties a worker slot to an endpoint that is not answering

# Rotation: the old secret keeps signing beside the new one for this long.
DEFAULT_ROTATION_OVERLAP = timedelta(hours=24)
MAX_ROTATION_OVERLAP = timedelta(days=7)
# Old secrets alive at once; rotating again expires the oldest (each one signs every delivery).
MAX_PREVIOUS_SECRETS = 3

MAX_CUSTOM_HEADERS = 20
MAX_HEADER_VALUE_CHARS = 1024
REDACTED = "[redacted]"

# RFC 9110 token characters.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$")
# Set by livehook itself or by HTTP: a custom value would break signatures or framing.
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-type",
        "content-length",
        "transfer-encoding",
        "connection",
        "user-agent",
        "expect",
        "te",
        "upgrade",
    }
)
_RESERVED_PREFIXES = ("x-webhook-", "webhook-", "x-verifyyou-")
_SENSITIVE_WORDS = ("auth", "token", "secret", "key", "password", "cookie", "signature", "session")


class HeaderError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    account_id: str
    api_key_id: str
    url: str
    description: str
    events: tuple[str, ...]
    model: str | None
    payload_format: str
    signature_scheme: str
    retry_policy: str | list[int]
    timeout_seconds: int
    headers: Mapping[str, str]
    status: str
    disabled_reason: str | None
    disabled_at: datetime | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime
    wire_profile: str = "livehook"  # domain/profiles.py

    @property
    def active(self) -> bool:
        return self.status == "active"


def is_sensitive_header(name: str) -> bool:
    lowered = name.lower()
    return lowered == "proxy-authorization" or any(w in lowered for w in _SENSITIVE_WORDS)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Header values safe to show: sensitive ones replaced, the names kept."""
    return {k: (REDACTED if is_sensitive_header(k) else v) for k, v in headers.items()}


def restore_redacted(sent: Mapping[str, str], stored: Mapping[str, str]) -> dict[str, str]:
    """``sent`` with each ``[redacted]`` placeholder replaced by the stored value of that header.

    Clients send back the map they were shown; without this, a credential would be overwritten
    by the placeholder. Names compare case-insensitively, as HTTP does.
    """
    by_name = {name.lower(): value for name, value in stored.items()}
    restored: dict[str, str] = {}
    for name, value in sent.items():
        if value == REDACTED and is_sensitive_header(name):
            if name.lower() not in by_name:
                raise HeaderError(f"header {name!r} is {REDACTED} but has no stored value")
            value = by_name[name.lower()]
        restored[name] = value
    return restored


def check_custom_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Validated custom headers, or HeaderError saying which one is wrong and why."""
    if len(headers) > MAX_CUSTOM_HEADERS:
        raise HeaderError(f"at most {MAX_CUSTOM_HEADERS} custom headers")
    seen: set[str] = set()
    for name, value in headers.items():
        lowered = name.lower()
        if not _HEADER_NAME.match(name):
            raise HeaderError(f"{name!r} is not a valid header name")
        if lowered in seen:
            raise HeaderError(f"header {name!r} is given twice")
        seen.add(lowered)
        if lowered in _RESERVED_HEADERS or lowered.startswith(_RESERVED_PREFIXES):
            raise HeaderError(f"header {name!r} is set by livehook and cannot be overridden")
        if any(c in value for c in "\r\n\0"):
            raise HeaderError(f"the value of header {name!r} contains a line break")
        if len(value) > MAX_HEADER_VALUE_CHARS:
            raise HeaderError(
                f"the value of header {name!r} is over {MAX_HEADER_VALUE_CHARS} chars"
            )
    return dict(headers)


def rotation_overlap(seconds: int | None) -> timedelta:
    """The overlap asked for, within bounds (ValueError otherwise)."""
    if seconds is None:
        return DEFAULT_ROTATION_OVERLAP
    overlap = timedelta(seconds=seconds)
    if not timedelta(0) <= overlap <= MAX_ROTATION_OVERLAP:
        raise ValueError("overlap_seconds must be between 0 and 604800 (7 days)")
    return overlap
