"""Webhook signatures: livehook's ``hmac-sha256`` scheme and Standard Webhooks ``v1``.

Standard library only. ``livehook.receiver`` checks the same schemes with its own copy
(``receiver/_signatures.py``), since it installs without the server; a test holds both to the
same vectors.

- ``hmac-sha256``: ``X-Webhook-Signature: sha256=<hex>``, an HMAC-SHA256 of the raw body keyed with
  the secret string exactly as shown to the user (``whsec_`` prefix included), so the one-line
  verify snippets of the source documents work unchanged. Older secrets still in their rotation
  overlap sign into ``X-Webhook-Signature-Previous``.
- ``standard-webhooks``: ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature:
  v1,<base64>`` (one value per secret), keyed with the base64-decoded part after ``whsec_``, so
  the ``standardwebhooks`` and ``svix`` verifiers accept it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from typing import Final, Literal, get_args

SignatureScheme = Literal["hmac-sha256", "standard-webhooks"]
SIGNATURE_SCHEMES: Final[tuple[SignatureScheme, ...]] = get_args(SignatureScheme)
SCHEME_HMAC_SHA256: Final[SignatureScheme] = "hmac-sha256"
SCHEME_STANDARD_WEBHOOKS: Final[SignatureScheme] = "standard-webhooks"

# Every signing secret livehook issues is this prefix followed by base64 of random bytes.
SECRET_PREFIX: Final = "whsec_"

HEADER_SIGNATURE: Final = "X-Webhook-Signature"
# The older secrets' hmac-sha256 signatures during a rotation overlap, space-separated.
HEADER_SIGNATURE_PREVIOUS: Final = "X-Webhook-Signature-Previous"
# Unix seconds of the attempt; set by the sender with the other X-Webhook-* headers.
HEADER_TIMESTAMP: Final = "X-Webhook-Timestamp"
# Standard Webhooks spells its headers in lower case.
HEADER_WEBHOOK_ID: Final = "webhook-id"
HEADER_WEBHOOK_TIMESTAMP: Final = "webhook-timestamp"
HEADER_WEBHOOK_SIGNATURE: Final = "webhook-signature"

HMAC_SHA256_PREFIX: Final = "sha256="
STANDARD_WEBHOOKS_VERSION: Final = "v1"


def hmac_sha256_signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``, keyed with the UTF-8 bytes of the whole secret."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return HMAC_SHA256_PREFIX + digest


def standard_webhooks_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: the base64 after the optional ``whsec_``.

    Padding may be left off, as the reference libraries allow. Raises ``ValueError`` (without
    the secret in the message) when the rest is not base64 or decodes to nothing.
    """
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except ValueError:
        raise ValueError(
            f"a Standard Webhooks secret is {SECRET_PREFIX!r} followed by base64; this one is not"
        ) from None
    if not key:
        raise ValueError("a Standard Webhooks secret needs key bytes after its prefix")
    return key


def standard_webhooks_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">`` per Standard Webhooks."""
    signed_content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(standard_webhooks_key(secret), signed_content, hashlib.sha256).digest()
    return f"{STANDARD_WEBHOOKS_VERSION},{base64.b64encode(digest).decode('ascii')}"


def signature_headers(
    scheme: str,
    secrets: Sequence[str],
    event_id: str,
    timestamp: int,
    body: bytes,
    *,
    signature_header: str = HEADER_SIGNATURE,
    previous_header: str = HEADER_SIGNATURE_PREVIOUS,
) -> dict[str, str]:
    """The signature headers of one delivery attempt.

    ``secrets`` is newest first: the current secret, then older ones still in their rotation
    overlap. Every scheme sets ``signature_header`` (a wire profile may rename it and
    ``previous_header``); ``X-Webhook-Timestamp`` and
    ``X-Webhook-Id`` are the sender's to add. Raises ``ValueError`` for an unknown scheme or no
    secret.
    """
    if isinstance(secrets, str):
        raise TypeError("secrets is a sequence of secrets, newest first, not one string")
    if not secrets:
        raise ValueError("a delivery needs at least one secret to be signed with")
    if scheme == SCHEME_HMAC_SHA256:
        newest, *older = (hmac_sha256_signature(secret, body) for secret in secrets)
        headers = {signature_header: newest}
        if older:
            headers[previous_header] = " ".join(older)
        return headers
    if scheme == SCHEME_STANDARD_WEBHOOKS:
        signatures = " ".join(
            standard_webhooks_signature(secret, event_id, timestamp, body) for secret in secrets
        )
        return {
            HEADER_WEBHOOK_ID: event_id,
            HEADER_WEBHOOK_TIMESTAMP: str(timestamp),
            HEADER_WEBHOOK_SIGNATURE: signatures,
            signature_header: signatures,
        }
    raise ValueError(
        f"unknown signature scheme {scheme!r}; expected one of {', '.join(SIGNATURE_SCHEMES)}"
    )
