"""Verifying a delivery: find its scheme, match a signature, check the timestamp, parse the body."""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from livehook.receiver import _signatures as signing
from livehook.receiver._exceptions import WebhookVerificationError

# Seconds a delivery may be older or newer than the receiver's clock: the Standard Webhooks value.
DEFAULT_TOLERANCE: Final = 300

Headers: TypeAlias = Mapping[str, str] | Iterable[tuple[str, str]]
Secrets: TypeAlias = str | Sequence[str]

_SIGNATURE = signing.HEADER_SIGNATURE.lower()
_SIGNATURE_PREVIOUS = signing.HEADER_SIGNATURE_PREVIOUS.lower()
# The verifyyou wire profile names the same sha256=<hex> signatures after its guide.
_VERIFYYOU_SIGNATURE = "x-verifyyou-signature"
_VERIFYYOU_SIGNATURE_PREVIOUS = "x-verifyyou-signature-previous"
_TIMESTAMP = signing.HEADER_TIMESTAMP.lower()
_STANDARD_HEADERS: Final = (
    signing.HEADER_WEBHOOK_ID,
    signing.HEADER_WEBHOOK_TIMESTAMP,
    signing.HEADER_WEBHOOK_SIGNATURE,
)
# Signature headers hold space-separated lists, so a header repeated on several lines joins
# with a space; any other repeated header joins with ", " as HTTP prescribes.
_LIST_HEADERS: Final = frozenset(
    {
        _SIGNATURE,
        _SIGNATURE_PREVIOUS,
        _VERIFYYOU_SIGNATURE,
        _VERIFYYOU_SIGNATURE_PREVIOUS,
        signing.HEADER_WEBHOOK_SIGNATURE,
    }
)
_MAX_TIMESTAMP_DIGITS: Final = 15
_RESERIALIZED_HINT: Final = (
    "was the body re-serialized before verifying? verify the raw request bytes"
)


@dataclass(frozen=True, slots=True)
class _SignedDelivery:
    scheme: str
    signatures: tuple[str, ...]
    timestamp: int
    webhook_id: str  # Standard Webhooks signs it with the body; empty for hmac-sha256


def verify(
    body: bytes,
    headers: Headers,
    secret: Secrets,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> dict[str, Any]:
    """Verify one delivery and return its JSON body; raise ``WebhookVerificationError`` if not.

    ``body`` is the raw request body, byte for byte. ``headers`` is any mapping or list of
    (name, value) pairs; names are matched case-insensitively. ``secret`` is one secret or
    several (during a rotation, the new and the old): a delivery is accepted when any of them
    matches any signature it carries, in either scheme. ``tolerance`` bounds, in seconds, how far
    the delivery's timestamp may be from ``now`` (default: the current time) either way.
    """
    raw_body = _raw_bytes(body)
    if tolerance < 0:
        raise ValueError("tolerance is a number of seconds and cannot be negative")
    secrets = _secrets_of(secret)
    delivery = _read_delivery(_header_map(headers))
    _check_signature(delivery, raw_body, secrets)
    _check_timestamp(delivery.timestamp, tolerance, time.time() if now is None else now)
    return _parse_body(raw_body)


class Webhook:
    """A verifier holding its secrets, for those who prefer an object.

    ``Webhook(["whsec_new...", "whsec_old..."]).verify(raw_body, request.headers)`` is
    ``verify`` with the secrets and tolerance given once; a missing secret fails here, early.
    """

    def __init__(self, secret: Secrets, *, tolerance: int = DEFAULT_TOLERANCE) -> None:
        if tolerance < 0:
            raise ValueError("tolerance is a number of seconds and cannot be negative")
        self._secrets = _secrets_of(secret)
        self._tolerance = tolerance

    def __repr__(self) -> str:
        return f"Webhook(<{len(self._secrets)} secret(s)>, tolerance={self._tolerance})"

    def verify(self, body: bytes, headers: Headers, *, now: float | None = None) -> dict[str, Any]:
        """Verify one delivery; see ``livehook.receiver.verify``."""
        return verify(body, headers, self._secrets, tolerance=self._tolerance, now=now)


def _raw_bytes(body: object) -> bytes:
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    # A str is most often a body already decoded or re-serialized: no longer what was signed.
    raise TypeError(
        f"verify() needs the raw request body as bytes, exactly as received, "
        f"not {type(body).__name__}"
    )


def _secrets_of(secret: Secrets) -> tuple[str, ...]:
    given = (secret,) if isinstance(secret, str) else tuple(secret)
    if not all(isinstance(item, str) for item in given):
        raise TypeError("secrets are strings, such as 'whsec_...'")
    # An empty entry is an old secret whose rotation is over ("OLD_SECRET" unset), not an error.
    secrets = tuple(item for item in given if item)
    if not secrets:
        raise WebhookVerificationError(
            "no_secret",
            "no secret to verify with: pass this endpoint's signing secret "
            "(is the environment variable holding it set?)",
        )
    return secrets


def _header_map(headers: Headers) -> dict[str, str]:
    if isinstance(headers, Mapping):
        pairs: Iterable[tuple[str, str]] = headers.items()
    else:
        # Werkzeug's and http.client's headers are no Mappings but list every line in items().
        items = getattr(headers, "items", None)
        pairs = items() if callable(items) else headers
    merged: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        if key in merged:
            separator = " " if key in _LIST_HEADERS else ", "
            merged[key] = f"{merged[key]}{separator}{value}"
        else:
            merged[key] = value
    return merged


def _read_delivery(headers: dict[str, str]) -> _SignedDelivery:
    if any(name in headers for name in _STANDARD_HEADERS):
        return _standard_webhooks_delivery(headers)
    if _SIGNATURE in headers:
        return _hmac_sha256_delivery(headers, _SIGNATURE, _SIGNATURE_PREVIOUS)
    if _VERIFYYOU_SIGNATURE in headers:
        return _hmac_sha256_delivery(headers, _VERIFYYOU_SIGNATURE, _VERIFYYOU_SIGNATURE_PREVIOUS)
    raise WebhookVerificationError(
        "missing_header",
        f"no signature header: expected {signing.HEADER_SIGNATURE}, X-VerifyYou-Signature or "
        f"the Standard Webhooks {signing.HEADER_WEBHOOK_SIGNATURE}; is this request a livehook "
        "delivery, and does a proxy in front of the receiver keep its headers?",
    )


def _standard_webhooks_delivery(headers: dict[str, str]) -> _SignedDelivery:
    missing = [name for name in _STANDARD_HEADERS if not headers.get(name)]
    if missing:
        raise WebhookVerificationError(
            "missing_header",
            f"a Standard Webhooks delivery needs {', '.join(_STANDARD_HEADERS)}; "
            f"missing or empty: {', '.join(missing)}",
        )
    tokens = headers[signing.HEADER_WEBHOOK_SIGNATURE].split()
    # Receivers skip versions they do not know (the spec reserves v1a for asymmetric keys).
    prefix = signing.STANDARD_WEBHOOKS_VERSION + ","
    signatures = tuple(token for token in tokens if token.startswith(prefix))
    if not signatures:
        raise WebhookVerificationError(
            "unsupported_signature",
            f"{signing.HEADER_WEBHOOK_SIGNATURE} holds no '{prefix}<base64>' signature",
        )
    timestamp_header = headers[signing.HEADER_WEBHOOK_TIMESTAMP]
    return _SignedDelivery(
        scheme=signing.SCHEME_STANDARD_WEBHOOKS,
        signatures=signatures,
        timestamp=_parse_timestamp(signing.HEADER_WEBHOOK_TIMESTAMP, timestamp_header),
        webhook_id=headers[signing.HEADER_WEBHOOK_ID],
    )


def _hmac_sha256_delivery(
    headers: dict[str, str], signature: str, previous: str
) -> _SignedDelivery:
    tokens = f"{headers[signature]} {headers.get(previous, '')}".split()
    signatures = tuple(token for token in tokens if token.startswith(signing.HMAC_SHA256_PREFIX))
    if not signatures:
        if any(token.startswith(signing.STANDARD_WEBHOOKS_VERSION + ",") for token in tokens):
            raise WebhookVerificationError(
                "missing_header",
                f"{signing.HEADER_SIGNATURE} holds Standard Webhooks signatures but "
                f"{signing.HEADER_WEBHOOK_ID} and {signing.HEADER_WEBHOOK_TIMESTAMP} are missing; "
                "does a proxy in front of the receiver drop them?",
            )
        raise WebhookVerificationError(
            "unsupported_signature",
            f"{signing.HEADER_SIGNATURE} holds no '{signing.HMAC_SHA256_PREFIX}<hex>' signature",
        )
    # This scheme signs the body alone (so the source documents' snippets work), which leaves
    # the timestamp unsigned: its check catches stale deliveries, not a determined replayer.
    timestamp_header = headers.get(_TIMESTAMP)
    if not timestamp_header:
        raise WebhookVerificationError(
            "missing_header",
            f"{signing.HEADER_TIMESTAMP} is missing; livehook sends it with every delivery, "
            "so the request did not come from livehook or a proxy dropped the header",
        )
    return _SignedDelivery(
        scheme=signing.SCHEME_HMAC_SHA256,
        signatures=signatures,
        timestamp=_parse_timestamp(signing.HEADER_TIMESTAMP, timestamp_header),
        webhook_id="",
    )


def _parse_timestamp(name: str, value: str) -> int:
    text = value.strip()
    # The length cap keeps int() clear of its 4300-digit limit; unix seconds need 10 or 11.
    if not (text.isascii() and text.isdigit() and len(text) <= _MAX_TIMESTAMP_DIGITS):
        raise WebhookVerificationError(
            "bad_timestamp", f"{name} must be unix seconds (digits only), got {value[:32]!r}"
        )
    return int(text)


def _check_signature(delivery: _SignedDelivery, body: bytes, secrets: tuple[str, ...]) -> None:
    expected: list[str] = []
    undecodable = 0
    for secret in secrets:
        try:
            expected.append(_expected_signature(delivery, body, secret))
        except ValueError:
            undecodable += 1
    if any(_same(mine, theirs) for mine in expected for theirs in delivery.signatures):
        return
    if undecodable == len(secrets):
        raise WebhookVerificationError(
            "invalid_secret",
            "this is a Standard Webhooks delivery and no secret given is a Standard Webhooks "
            f"secret ({signing.SECRET_PREFIX!r} followed by base64); pass this endpoint's secret",
        )
    raise WebhookVerificationError("bad_signature", _no_match_message(delivery, secrets))


def _expected_signature(delivery: _SignedDelivery, body: bytes, secret: str) -> str:
    if delivery.scheme == signing.SCHEME_HMAC_SHA256:
        return signing.hmac_sha256_signature(secret, body)
    return signing.standard_webhooks_signature(
        secret, delivery.webhook_id, delivery.timestamp, body
    )


def _same(mine: str, theirs: str) -> bool:
    # compare_digest refuses non-ASCII str, and a header may carry anything.
    return hmac.compare_digest(mine.encode(), theirs.encode("utf-8", "replace"))


def _no_match_message(delivery: _SignedDelivery, secrets: tuple[str, ...]) -> str:
    count = f"{len(secrets)} secret{'s' if len(secrets) > 1 else ''}"
    hints = [
        f"no signature matched the body with the {count} given: {_RESERIALIZED_HINT}",
        "or the secret is not this endpoint's (during a rotation, pass the new and the old)",
    ]
    if any(secret != secret.strip() for secret in secrets):
        hints.append("a secret has leading or trailing whitespace")
    if delivery.scheme == signing.SCHEME_HMAC_SHA256 and not all(
        secret.startswith(signing.SECRET_PREFIX) for secret in secrets
    ):
        hints.append(
            f"livehook keys the HMAC with the whole secret, {signing.SECRET_PREFIX!r} included"
        )
    return "; ".join(hints)


def _check_timestamp(timestamp: int, tolerance: int, now: float) -> None:
    age = now - timestamp
    if age > tolerance:
        raise WebhookVerificationError(
            "timestamp_too_old",
            f"the delivery was signed {age:.0f} s ago, more than the {tolerance} s tolerance: "
            "it is a replay of an old request, or this server's clock is ahead (check NTP)",
        )
    if -age > tolerance:
        raise WebhookVerificationError(
            "timestamp_in_future",
            f"the delivery's timestamp is {-age:.0f} s in the future, more than the {tolerance} s "
            "tolerance: this server's clock is probably behind (check NTP)",
        )


def _parse_body(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except ValueError as error:
        raise WebhookVerificationError(
            "invalid_json", f"the signature is valid but the body is not JSON ({error})"
        ) from None
    if not isinstance(event, dict):
        raise WebhookVerificationError(
            "invalid_json",
            f"the signature is valid but the body is a JSON {type(event).__name__}, "
            "not the object every livehook event is",
        )
    return event
