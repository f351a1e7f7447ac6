"""Fresh identifiers and secrets: the one place that reads the clock and the OS's randomness."""

from __future__ import annotations

import base64
import os
import secrets
import time
import uuid

from livehook.constants import (
    API_KEY_PREFIX,
    API_KEY_RANDOM_BYTES,
    CALLBACK_SECRET_RANDOM_BYTES,
    WEBHOOK_SECRET_PREFIX,
    WEBHOOK_SECRET_RANDOM_BYTES,
)
from livehook.domain.ids import ENTROPY_BYTES, sortable_id, uuid7


def new_id(prefix: str) -> str:
    return sortable_id(prefix, time.time_ns() // 1_000_000, os.urandom(ENTROPY_BYTES))


def new_uuid() -> uuid.UUID:
    return uuid7(time.time_ns() // 1_000_000, os.urandom(ENTROPY_BYTES))


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(API_KEY_RANDOM_BYTES)


def new_signing_secret(random_bytes: int = WEBHOOK_SECRET_RANDOM_BYTES) -> str:
    """``whsec_`` + base64: the Standard Webhooks secret format, also used for callbacks."""
    raw = secrets.token_bytes(random_bytes)
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(raw).decode()


def new_callback_secret() -> str:
    return new_signing_secret(CALLBACK_SECRET_RANDOM_BYTES)
