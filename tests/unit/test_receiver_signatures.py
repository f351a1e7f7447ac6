"""The receiver's own signature code and the server's signing agree, byte for byte.

`livehook.receiver` installs without the server, so it recomputes signatures with its own
standard-library copy; these vectors hold the two copies together.
"""

from __future__ import annotations

import base64

import pytest

from livehook.domain import signing
from livehook.receiver import _signatures

SECRETS = [
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # the Standard Webhooks specification's
    "whsec_" + base64.b64encode(bytes(range(24))).decode(),
    "whsec_AAE",  # base64 without its padding
    "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # no prefix
]
BODIES = [b"", b'{"test": 2432232314}', '{"name": "ñandú"}'.encode(), bytes(range(256))]


@pytest.mark.parametrize("secret", SECRETS)
@pytest.mark.parametrize("body", BODIES)
def test_both_compute_the_same_signatures(secret: str, body: bytes) -> None:
    assert _signatures.hmac_sha256_signature(secret, body) == signing.hmac_sha256_signature(
        secret, body
    )
    mine = _signatures.standard_webhooks_signature(secret, "msg_p5jXN8AQM9LWM0D4", 1614265330, body)
    assert mine == signing.standard_webhooks_signature(
        secret, "msg_p5jXN8AQM9LWM0D4", 1614265330, body
    )


def test_the_receiver_reproduces_the_specification_vector() -> None:
    signature = _signatures.standard_webhooks_signature(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_"])
def test_both_refuse_a_secret_that_is_not_standard_webhooks(secret: str) -> None:
    with pytest.raises(ValueError):
        signing.standard_webhooks_signature(secret, "msg_1", 1, b"{}")
    with pytest.raises(ValueError) as caught:
        _signatures.standard_webhooks_signature(secret, "msg_1", 1, b"{}")
    assert "base64!" not in str(caught.value)  # a secret never reaches a message


@pytest.mark.parametrize(
    "name",
    [
        "SCHEME_HMAC_SHA256",
        "SCHEME_STANDARD_WEBHOOKS",
        "SECRET_PREFIX",
        "HEADER_SIGNATURE",
        "HEADER_SIGNATURE_PREVIOUS",
        "HEADER_TIMESTAMP",
        "HEADER_WEBHOOK_ID",
        "HEADER_WEBHOOK_TIMESTAMP",
        "HEADER_WEBHOOK_SIGNATURE",
        "HMAC_SHA256_PREFIX",
        "STANDARD_WEBHOOKS_VERSION",
    ],
)
def test_both_name_the_same_headers_and_schemes(name: str) -> None:
    assert getattr(_signatures, name) == getattr(signing, name)
