"""Wire profiles: each reproduces its guide's body, names and headers exactly."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from livehook.domain import profiles
from livehook.domain.payloads import encode_body, stage_data
from livehook.receiver import verify

SESSION = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
AT = datetime(2026, 6, 9, 17, 4, 1, 123456, tzinfo=UTC)
SECRET = "whsec_c2VjcmV0LWJ5dGVzLWZvci10ZXN0cy0xMjM0"
OLD = "whsec_b2xkLXNlY3JldC1ieXRlcy0xMjM0NTY3OA=="
FACTS = profiles.SessionFacts("user_123", "signup-campaign", 0.92)


def body(profile: str, event_type: str, data: dict[str, object] | None = None) -> dict[str, object]:
    return profiles.build_body(
        profiles.get(profile),
        fmt="full",
        event_id="evt_01",
        event_type=event_type,
        session_id=SESSION,
        occurred_at=AT,
        data=data or {},
        facts=FACTS,
    )


def test_verifyyou_completion_is_the_guides_flat_body_field_for_field() -> None:
    sent = body("verifyyou", "verification.completed", {"verdict": "live"})
    assert list(sent.items()) == [
        ("stage", "verification_completed"),
        ("step", 6),
        ("occurred_at", "2026-06-09T17:04:01.123456+00:00"),
        ("verification_id", SESSION),
        ("external_id", "user_123"),
        ("external_tracker", "signup-campaign"),
        ("trust_score", 0.92),
    ]


def test_verifyyou_stage_events_take_the_stages_own_values_over_the_session() -> None:
    data = stage_data(stage="liveness.started", external_id="u9", trust_score=0.4)
    sent = body("verifyyou", "liveness.started", data)
    assert sent["stage"] == "liveness_started" and sent["step"] == 4
    assert (sent["external_id"], sent["trust_score"]) == ("u9", 0.4)
    assert sent["external_tracker"] == "signup-campaign"  # the session's, the stage had none


@pytest.mark.parametrize("ending", profiles.SESSION_ENDINGS)
def test_verifeye_sends_the_two_documented_fields_whatever_the_outcome(ending: str) -> None:
    assert body("verifeye", ending) == {
        "event": "VerificationCompleted",
        "verificationSessionId": SESSION,
    }


def test_verifeye_sends_no_stage_events() -> None:
    verifeye = profiles.get("verifeye")
    assert not verifeye.wants("liveness.started", [], None, None)
    with pytest.raises(ValueError, match="does not send"):
        body("verifeye", "liveness.started")


@pytest.mark.parametrize("name", ["livehook", "moveris", "standard-webhooks"])
def test_envelope_profiles_keep_livehooks_body(name: str) -> None:
    sent = body(name, "verification.failed", {"code": "x"})
    assert list(sent) == ["id", "event", "session_id", "timestamp", "data"]
    assert sent["timestamp"] == "2026-06-09T17:04:01.123456Z"


def test_moveris_all_events_means_the_guides_two() -> None:
    moveris = profiles.get("moveris")
    wanted = [t for t in moveris.event_names if moveris.wants(t, [], None, None)]
    assert wanted == ["verification.completed", "verification.failed"]
    assert moveris.wants("liveness.started", ["liveness.started"], None, None)


def headers(profile: str, secrets: list[str], **options: object) -> dict[str, str]:
    return profiles.request_headers(
        profiles.get(profile),
        event_type="liveness.started",
        event_id="evt_01",
        session_id=SESSION,
        timestamp=1_770_000_000,
        secrets=secrets,
        body=BODY,
        **options,  # type: ignore[arg-type]
    )


BODY = encode_body({"stage": "liveness_started"})


def test_verifyyou_headers_carry_the_guides_names_and_a_signature_its_snippet_accepts() -> None:
    sent = headers("verifyyou", [SECRET], is_test=True)
    expected = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert sent["X-VerifyYou-Signature"] == expected
    assert sent["X-VerifyYou-Event"] == "liveness_started"
    assert "X-Webhook-Signature" not in sent and "X-Webhook-Event" not in sent
    assert sent["X-Webhook-Id"] == "evt_01" and sent["X-Webhook-Test"] == "true"
    assert verify(BODY, sent, SECRET, now=1_770_000_000) == json.loads(BODY)


def test_verifyyou_rotation_keeps_the_new_secret_in_the_guides_header() -> None:
    sent = headers("verifyyou", [SECRET, OLD])
    assert sent["X-VerifyYou-Signature"].startswith("sha256=")
    assert "X-VerifyYou-Signature-Previous" in sent
    for secret in (SECRET, OLD):
        verify(BODY, sent, secret, now=1_770_000_000)


def test_moveris_agent_is_the_documented_one_unless_the_deployment_overrides_it() -> None:
    assert headers("moveris", [SECRET])["User-Agent"] == "Moveris-Webhook/1.0"
    assert headers("moveris", [SECRET], user_agent="Acme/2")["User-Agent"] == "Acme/2"
    assert headers("livehook", [SECRET])["User-Agent"] == "Livehook-Webhook/1.0"


def test_standard_webhooks_profile_signs_as_its_scheme_did() -> None:
    sent = headers("standard-webhooks", [SECRET])
    assert sent["webhook-id"] == "evt_01" and sent["webhook-signature"].startswith("v1,")
    verify(BODY, sent, SECRET, now=1_770_000_000)


@pytest.mark.parametrize(
    ("profile", "scheme", "fallback", "expected"),
    [
        (None, None, "moveris", "moveris"),
        (None, "standard-webhooks", "livehook", "standard-webhooks"),
        (None, "hmac-sha256", "standard-webhooks", "livehook"),
        (None, "hmac-sha256", "verifyyou", "verifyyou"),
        ("verifeye", None, "livehook", "verifeye"),
        ("verifeye", "hmac-sha256", "livehook", "verifeye"),
    ],
)
def test_resolve_folds_the_older_signature_scheme_into_profiles(
    profile: str | None, scheme: str | None, fallback: str, expected: str
) -> None:
    assert profiles.resolve(profile, scheme, fallback).name == expected


def test_resolve_refuses_a_scheme_at_odds_with_the_profile() -> None:
    with pytest.raises(ValueError, match="leave signature_scheme out"):
        profiles.resolve("verifyyou", "standard-webhooks", "livehook")
    with pytest.raises(ValueError, match="unknown wire profile"):
        profiles.get("svix")


def test_underscore_stage_names_map_to_the_catalog() -> None:
    assert profiles.stage_name("liveness_started") == "liveness.started"
    assert profiles.stage_name("consent_granted") == "consent.granted"
    assert profiles.stage_name("liveness.started") == "liveness.started"
