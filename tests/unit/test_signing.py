"""Signature vectors and the headers of both schemes, checked against third-party verifiers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from livehook.domain.signing import (
    hmac_sha256_signature,
    signature_headers,
    standard_webhooks_key,
    standard_webhooks_signature,
)

NEW_SECRET = "whsec_" + base64.b64encode(bytes(range(24))).decode()
OLD_SECRET = "whsec_" + base64.b64encode(bytes(range(100, 124))).decode()
BODY = b'{"id": "evt_1", "event": "verification.completed", "data": {"verdict": "live"}}'


def seed_verify_webhook(payload_bytes: bytes, signature_header: str, secret: str) -> bool:
    """The two lines of ``verify_webhook`` from the source documents (seed 001), unchanged."""
    expected = "sha256=" + hmac.new(secret.encode(), payload_bytes, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature_header)


def test_hmac_sha256_matches_githubs_documented_vector() -> None:
    signature = hmac_sha256_signature("It's a Secret to Everybody", b"Hello, World!")

    assert signature == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


def test_hmac_sha256_is_keyed_with_the_whole_secret_prefix_included() -> None:
    signature = hmac_sha256_signature(NEW_SECRET, BODY)

    assert seed_verify_webhook(BODY, signature, NEW_SECRET)
    assert not seed_verify_webhook(BODY, signature, NEW_SECRET.removeprefix("whsec_"))


def test_standard_webhooks_signature_matches_the_specification_vector() -> None:
    signature = standard_webhooks_signature(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize(
    "secret",
    ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    ids=["prefixed", "bare"],
)
def test_standard_webhooks_key_takes_the_prefix_as_optional(secret: str) -> None:
    assert standard_webhooks_key(secret) == base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")


def test_standard_webhooks_key_accepts_base64_without_its_padding() -> None:
    assert standard_webhooks_key("whsec_AAEC") == b"\x00\x01\x02"
    assert standard_webhooks_key("whsec_AAE") == b"\x00\x01"


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_ñandú"])
def test_standard_webhooks_key_refuses_a_secret_that_is_not_base64_without_echoing_it(
    secret: str,
) -> None:
    with pytest.raises(ValueError, match="followed by base64") as caught:
        standard_webhooks_key(secret)

    assert secret.removeprefix("whsec_") not in str(caught.value)


def test_standard_webhooks_key_refuses_a_secret_with_no_key_bytes() -> None:
    with pytest.raises(ValueError, match="needs key bytes"):
        standard_webhooks_key("whsec_")


def test_hmac_headers_with_one_secret_carry_only_the_signature() -> None:
    headers = signature_headers("hmac-sha256", [NEW_SECRET], "evt_1", 1_700_000_000, BODY)

    assert headers == {"X-Webhook-Signature": hmac_sha256_signature(NEW_SECRET, BODY)}


def test_hmac_headers_during_a_rotation_put_older_signatures_in_previous() -> None:
    third = "whsec_" + base64.b64encode(b"third secret bytes, 24+!").decode()

    headers = signature_headers(
        "hmac-sha256", [NEW_SECRET, OLD_SECRET, third], "evt_1", 1_700_000_000, BODY
    )

    assert headers == {
        "X-Webhook-Signature": hmac_sha256_signature(NEW_SECRET, BODY),
        "X-Webhook-Signature-Previous": (
            f"{hmac_sha256_signature(OLD_SECRET, BODY)} {hmac_sha256_signature(third, BODY)}"
        ),
    }


def test_hmac_headers_verify_with_the_source_documents_snippet_and_the_new_secret() -> None:
    headers = signature_headers("hmac-sha256", [NEW_SECRET, OLD_SECRET], "evt_1", 1, BODY)

    assert seed_verify_webhook(BODY, headers["X-Webhook-Signature"], NEW_SECRET)
    assert seed_verify_webhook(BODY, headers["X-Webhook-Signature-Previous"], OLD_SECRET)
    assert not seed_verify_webhook(BODY + b" ", headers["X-Webhook-Signature"], NEW_SECRET)


def test_standard_webhooks_headers_list_every_secrets_signature_newest_first() -> None:
    headers = signature_headers(
        "standard-webhooks", [NEW_SECRET, OLD_SECRET], "evt_1", 1_700_000_000, BODY
    )

    expected = " ".join(
        standard_webhooks_signature(secret, "evt_1", 1_700_000_000, BODY)
        for secret in (NEW_SECRET, OLD_SECRET)
    )
    assert headers == {
        "webhook-id": "evt_1",
        "webhook-timestamp": "1700000000",
        "webhook-signature": expected,
        "X-Webhook-Signature": expected,
    }


@pytest.mark.parametrize("secret", [NEW_SECRET, OLD_SECRET], ids=["new", "old"])
def test_standard_webhooks_headers_verify_with_the_standardwebhooks_package(secret: str) -> None:
    # The package checks the timestamp against the real clock, so sign with it.
    headers = signature_headers(
        "standard-webhooks", [NEW_SECRET, OLD_SECRET], "evt_1", int(time.time()), BODY
    )

    assert StandardWebhook(secret).verify(BODY, headers) == {
        "id": "evt_1",
        "event": "verification.completed",
        "data": {"verdict": "live"},
    }


def test_standard_webhooks_headers_fail_the_standardwebhooks_package_on_a_changed_body() -> None:
    headers = signature_headers("standard-webhooks", [NEW_SECRET], "evt_1", int(time.time()), BODY)

    with pytest.raises(Exception, match="No matching signature found"):
        StandardWebhook(NEW_SECRET).verify(BODY.replace(b"live", b"fake"), headers)


def test_signature_headers_refuse_an_unknown_scheme() -> None:
    with pytest.raises(ValueError, match="unknown signature scheme 'hmac-sha1'"):
        signature_headers("hmac-sha1", [NEW_SECRET], "evt_1", 1, BODY)


def test_signature_headers_refuse_to_sign_without_a_secret() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        signature_headers("hmac-sha256", [], "evt_1", 1, BODY)


def test_signature_headers_refuse_one_string_in_place_of_a_list_of_secrets() -> None:
    with pytest.raises(TypeError, match="not one string"):
        signature_headers("hmac-sha256", NEW_SECRET, "evt_1", 1, BODY)
