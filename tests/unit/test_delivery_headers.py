"""The request headers of one attempt, exactly as the delivery contract lists them
(docs/architecture.md, "The delivery contract")."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from livehook.domain.deliveries import (
    build_request_headers,
    loggable_headers,
    response_excerpt,
)
from livehook.receiver import verify

BODY = b'{"id":"evt_1","event":"verification.completed","session_id":"s","data":{"n":"\\u00e9"}}'
SESSION = "550e8400-e29b-41d4-a716-446655440000"
NEW = "whsec_" + "bmV3LXNlY3JldC1ieXRlcy0xMjM0NTY3OA=="
OLD = "whsec_" + "b2xkLXNlY3JldC1ieXRlcy0xMjM0NTY3OA=="


def headers(**overrides: object) -> dict[str, str]:
    options: dict[str, object] = {
        "event_type": "verification.completed",
        "event_id": "evt_1",
        "session_id": SESSION,
        "timestamp": 1_770_000_000,
        "scheme": "hmac-sha256",
        "secrets": [NEW],
        "body": BODY,
    } | overrides
    return build_request_headers(**options)  # type: ignore[arg-type]


def test_hmac_scheme_sends_the_contract_headers_in_order() -> None:
    digest = hmac.new(NEW.encode(), BODY, hashlib.sha256).hexdigest()
    assert list(headers().items()) == [
        ("Content-Type", "application/json"),
        ("User-Agent", "Livehook-Webhook/1.0"),
        ("X-Webhook-Event", "verification.completed"),
        ("X-Webhook-Session", SESSION),
        ("X-Webhook-Id", "evt_1"),
        ("X-Webhook-Timestamp", "1770000000"),
        ("X-Webhook-Signature", "sha256=" + digest),
    ]


def test_rotation_overlap_signs_with_both_secrets_newest_in_the_main_header() -> None:
    sent = headers(secrets=[NEW, OLD])
    old_digest = hmac.new(OLD.encode(), BODY, hashlib.sha256).hexdigest()
    assert sent["X-Webhook-Signature-Previous"] == "sha256=" + old_digest
    for secret in (NEW, OLD):
        assert verify(BODY, sent, secret, now=1_770_000_000)["id"] == "evt_1"


def test_standard_webhooks_scheme_adds_its_three_headers() -> None:
    sent = headers(scheme="standard-webhooks")
    assert sent["webhook-id"] == "evt_1"
    assert sent["webhook-timestamp"] == "1770000000"
    assert sent["webhook-signature"].startswith("v1,")
    assert sent["X-Webhook-Signature"] == sent["webhook-signature"]


def test_operational_events_have_no_session_header() -> None:
    assert "X-Webhook-Session" not in headers(session_id=None)


def test_test_events_are_marked_and_custom_headers_come_last() -> None:
    sent = headers(is_test=True, custom_headers={"Authorization": "Bearer t", "X-Tenant": "a"})
    assert list(sent)[-3:] == ["X-Webhook-Test", "Authorization", "X-Tenant"]
    assert sent["X-Webhook-Test"] == "true"


def test_an_attempt_without_any_secret_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="at least one secret"):
        headers(secrets=[])


def test_log_keeps_signatures_but_hides_sensitive_custom_values() -> None:
    custom = {"Authorization": "Bearer t0k3n", "X-Tenant": "acme"}
    sent = headers(custom_headers=custom)
    logged = loggable_headers(sent, custom)
    assert logged["Authorization"] == "[redacted]"
    assert logged["X-Tenant"] == "acme"
    assert logged["X-Webhook-Signature"] == sent["X-Webhook-Signature"]
    assert list(logged) == list(sent)


def test_response_excerpt_replaces_bytes_that_are_not_utf8() -> None:
    assert response_excerpt(b"ok \xff") == "ok \ufffd"
