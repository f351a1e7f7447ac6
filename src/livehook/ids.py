"""Fresh identifiers and secrets from the OS's randomness; ids carry the time they were made.

Times a use case records come from `clock.py`, so tests can fix them; only an id's embedded
millisecond reads the system clock here, where its order matters and its value does not.
"""

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
    WEBHOOK_SECRET_RANDOM_BYTES,
)
from livehook.domain.ids import ENTROPY_BYTES, sortable_id, uuid7
from livehook.domain.signing import SECRET_PREFIX


def new_id(prefix: str) -> str:
    return sortable_id(prefix, time.time_ns() // 1_000_000, os.urandom(ENTROPY_BYTES))


def new_uuid() -> uuid.UUID:
    return uuid7(time.time_ns() // 1_000_000, os.urandom(ENTROPY_BYTES))


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(API_KEY_RANDOM_BYTES)


def new_signing_secret(random_bytes: int = WEBHOOK_SECRET_RANDOM_BYTES) -> str:
    """``whsec_`` + base64: the Standard Webhooks secret format, also used for callbacks."""
    raw = secrets.token_bytes(random_bytes)
    return SECRET_PREFIX + base64.b64encode(raw).decode()


def new_callback_secret() -> str:
    return new_signing_secret(CALLBACK_SECRET_RANDOM_BYTES)
