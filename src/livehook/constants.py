"""Defaults and limits of the API keys, secrets, HTTP API, storage and server, each with why.

A domain rule's numbers live beside the rule (`domain/webhooks.py`, `domain/sessions.py`, …) and
the delivery worker's in `delivery/config.py`: `docs/architecture.md` lists where.
"""

from __future__ import annotations

# --- API keys -------------------------------------------------------------------------------
# Key prefix tells a leaked key apart at a glance (secret scanners match on it).
API_KEY_PREFIX = "lh_"
# 32 random bytes: a key is unguessable, so a plain SHA-256 (not a slow password hash) is enough.
API_KEY_RANDOM_BYTES = 32
# Characters of a key kept in clear so a person can tell their keys apart in a list.
API_KEY_DISPLAY_CHARS = 11
CALLBACK_SECRET_RANDOM_BYTES = 32

# --- Webhook secrets ------------------------------------------------------------------------
# The delivery contract (docs/architecture.md): whsec_ (domain/signing.py: SECRET_PREFIX) +
# base64 of at least 24 random bytes.
WEBHOOK_SECRET_RANDOM_BYTES = 32

# --- HTTP API -------------------------------------------------------------------------------
# Largest request body the API reads; anything bigger is refused with 413 before parsing.
MAX_REQUEST_BODY_BYTES = 256 * 1024
# Cursor pagination: default and largest page.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200

# --- Storage --------------------------------------------------------------------------------
# How long SQLite waits for a competing writer before giving up (ms).
SQLITE_BUSY_TIMEOUT_MS = 10_000

# --- Server ---------------------------------------------------------------------------------
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
