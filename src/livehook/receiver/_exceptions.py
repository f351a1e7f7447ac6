"""The one exception a failed verification raises."""

from __future__ import annotations

from typing import Literal, TypeAlias

Reason: TypeAlias = Literal[
    "bad_signature",
    "bad_timestamp",
    "invalid_json",
    "invalid_secret",
    "missing_header",
    "no_secret",
    "timestamp_in_future",
    "timestamp_too_old",
    "unsupported_signature",
]


class WebhookVerificationError(ValueError):
    """A delivery failed verification: do not act on it, answer 400.

    ``reason`` is a short machine code, ``str(error)`` says what is wrong in words:

    - ``no_secret``: no secret was given to verify with.
    - ``invalid_secret``: a Standard Webhooks delivery, and no given secret is ``whsec_`` + base64.
    - ``missing_header``: a signature, id or timestamp header is absent (or a proxy dropped it).
    - ``unsupported_signature``: the signature header holds no value in a known scheme.
    - ``bad_timestamp``: the timestamp header is not unix seconds.
    - ``bad_signature``: no signature matched any secret (re-serialized body, wrong secret).
    - ``timestamp_too_old`` / ``timestamp_in_future``: signed outside the tolerance window.
    - ``invalid_json``: the signature is valid but the body is not a JSON object.

    Messages never contain a secret.
    """

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.message = message

    def __reduce__(self) -> tuple[type[WebhookVerificationError], tuple[Reason, str]]:
        # The default pickling passes only the message back to __init__.
        return (type(self), (self.reason, self.message))
