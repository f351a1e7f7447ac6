"""The two signature schemes as a receiver recomputes them: standard library only.

The receiver installs without the server, so it keeps its own copy of what it checks rather
than importing `livehook.domain.signing`, which signs; `tests/unit/test_receiver_signatures.py`
holds the two to the same vectors.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Final

SCHEME_HMAC_SHA256: Final = "hmac-sha256"
SCHEME_STANDARD_WEBHOOKS: Final = "standard-webhooks"

SECRET_PREFIX: Final = "whsec_"

HEADER_SIGNATURE: Final = "X-Webhook-Signature"
HEADER_SIGNATURE_PREVIOUS: Final = "X-Webhook-Signature-Previous"
HEADER_TIMESTAMP: Final = "X-Webhook-Timestamp"
HEADER_WEBHOOK_ID: Final = "webhook-id"
HEADER_WEBHOOK_TIMESTAMP: Final = "webhook-timestamp"
HEADER_WEBHOOK_SIGNATURE: Final = "webhook-signature"

HMAC_SHA256_PREFIX: Final = "sha256="
STANDARD_WEBHOOKS_VERSION: Final = "v1"


def hmac_sha256_signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``, keyed with the UTF-8 bytes of the whole secret."""
    return HMAC_SHA256_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_webhooks_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">``, keyed with the base64
    after ``whsec_``; raises ``ValueError`` (without the secret) when that is not base64."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        # Padding may be left off, as the reference libraries allow.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except ValueError:
        raise ValueError("not a Standard Webhooks secret") from None
    if not key:
        raise ValueError("a Standard Webhooks secret needs key bytes after its prefix")
    signed_content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed_content, hashlib.sha256).digest()
    return f"{STANDARD_WEBHOOKS_VERSION},{base64.b64encode(digest).decode('ascii')}"
