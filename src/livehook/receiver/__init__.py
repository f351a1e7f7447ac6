"""Verify livehook deliveries: standard library only, so ``pip install livehook`` is enough.

    from livehook.receiver import WebhookVerificationError, verify

    try:
        event = verify(raw_body, request_headers, secret=["whsec_new...", "whsec_old..."])
    except WebhookVerificationError as error:
        return 400, str(error)  # error.reason is a short machine code
    handle(event)  # de-duplicate on event["id"]: delivery is at least once

``verify`` takes the raw request bytes (never a re-serialized body), any headers object and one
secret or several, and accepts every wire profile's signature: livehook's (and Moveris' and
VerifEye's) ``X-Webhook-Signature: sha256=...``, VerifyYou's ``X-VerifyYou-Signature:
sha256=...``, and Standard Webhooks. ``Webhook`` holds the secrets for repeated calls. Framework
helpers live in ``livehook.receiver.fastapi``, ``.flask`` and ``.django``, each imported only
when used.

Exceptions::

    ValueError
    └── WebhookVerificationError   .reason: no_secret, invalid_secret, missing_header,
                                   unsupported_signature, bad_timestamp, bad_signature,
                                   timestamp_too_old, timestamp_in_future, invalid_json
"""

from livehook.receiver._exceptions import WebhookVerificationError
from livehook.receiver._verify import DEFAULT_TOLERANCE, Webhook, verify

__all__ = ["DEFAULT_TOLERANCE", "Webhook", "WebhookVerificationError", "verify"]
