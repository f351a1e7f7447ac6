"""livehook.receiver.verify: what it accepts, what it refuses and the reason it gives."""

from __future__ import annotations

import base64
import json
import pickle
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livehook.domain.signing import signature_headers
from livehook.receiver import Webhook, WebhookVerificationError, verify

NEW_SECRET = "whsec_" + base64.b64encode(bytes(range(24))).decode()
OLD_SECRET = "whsec_" + base64.b64encode(bytes(range(100, 124))).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(bytes(range(200, 224))).decode()
NOW = 1_770_000_000
EVENT = {
    "id": "evt_1",
    "event": "verification.completed",
    "session_id": "550e8400-e29b-41d4-a716-446655440000",
    "timestamp": "2026-02-10T15:26:42.123456Z",
    "data": {"verdict": "live", "real_score": 0.94, "score": 94.0},
}
BODY = json.dumps(EVENT).encode()
SCHEMES = ["hmac-sha256", "standard-webhooks"]


def delivery_headers(
    scheme: str,
    secrets: Sequence[str] = (NEW_SECRET,),
    body: bytes = BODY,
    timestamp: int = NOW,
) -> dict[str, str]:
    """The headers livehook's worker sends: its own X-Webhook-* plus the signature headers."""
    return {
        "Content-Type": "application/json",
        "X-Webhook-Id": "evt_1",
        "X-Webhook-Timestamp": str(timestamp),
        **signature_headers(scheme, secrets, "evt_1", timestamp, body),
    }


def refusal(body: bytes, headers: Any, secret: Any, **options: Any) -> WebhookVerificationError:
    with pytest.raises(WebhookVerificationError) as caught:
        verify(body, headers, secret, **options)
    return caught.value


@pytest.mark.parametrize("scheme", SCHEMES)
def test_accepts_its_own_signature_and_returns_the_parsed_body(scheme: str) -> None:
    assert verify(BODY, delivery_headers(scheme), NEW_SECRET, now=NOW) == EVENT


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("receiver_secret", [NEW_SECRET, OLD_SECRET], ids=["new", "old"])
def test_during_a_rotation_accepts_with_either_the_new_or_the_old_secret(
    scheme: str, receiver_secret: str
) -> None:
    headers = delivery_headers(scheme, [NEW_SECRET, OLD_SECRET])

    assert verify(BODY, headers, receiver_secret, now=NOW) == EVENT


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_receiver_holding_both_secrets_accepts_deliveries_signed_before_the_rotation(
    scheme: str,
) -> None:
    headers = delivery_headers(scheme, [OLD_SECRET])

    assert verify(BODY, headers, [NEW_SECRET, OLD_SECRET], now=NOW) == EVENT


@pytest.mark.parametrize("scheme", SCHEMES)
def test_an_empty_entry_among_the_secrets_is_skipped(scheme: str) -> None:
    assert verify(BODY, delivery_headers(scheme), [NEW_SECRET, ""], now=NOW) == EVENT


@pytest.mark.parametrize("scheme", SCHEMES)
def test_header_names_match_in_any_case(scheme: str) -> None:
    upper = {name.upper(): value for name, value in delivery_headers(scheme).items()}
    lower = {name.lower(): value for name, value in delivery_headers(scheme).items()}

    assert verify(BODY, upper, NEW_SECRET, now=NOW) == EVENT
    assert verify(BODY, lower, NEW_SECRET, now=NOW) == EVENT


@pytest.mark.parametrize("scheme", SCHEMES)
def test_headers_may_be_a_list_of_pairs(scheme: str) -> None:
    pairs = list(delivery_headers(scheme).items())

    assert verify(BODY, pairs, NEW_SECRET, now=NOW) == EVENT


def test_a_signature_header_repeated_on_two_lines_is_read_as_one_list() -> None:
    signed = delivery_headers("hmac-sha256", [OLD_SECRET])
    pairs = [
        ("X-Webhook-Timestamp", str(NOW)),
        ("X-Webhook-Signature", "sha256=" + "0" * 64),
        ("X-Webhook-Signature", signed["X-Webhook-Signature"]),
    ]

    assert verify(BODY, pairs, OLD_SECRET, now=NOW) == EVENT


@pytest.mark.parametrize("scheme", SCHEMES)
def test_refuses_a_body_with_one_byte_flipped(scheme: str) -> None:
    tampered = bytearray(BODY)
    tampered[len(BODY) // 2] ^= 0x01

    error = refusal(bytes(tampered), delivery_headers(scheme), NEW_SECRET, now=NOW)

    assert error.reason == "bad_signature"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_refuses_a_re_serialized_body_and_says_to_verify_the_raw_bytes(scheme: str) -> None:
    reserialized = json.dumps(json.loads(BODY), separators=(",", ":")).encode()

    error = refusal(reserialized, delivery_headers(scheme), NEW_SECRET, now=NOW)

    assert error.reason == "bad_signature"
    assert "re-serialized" in str(error)
    assert "verify the raw request bytes" in str(error)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_refuses_a_wrong_secret_without_revealing_any_secret(scheme: str) -> None:
    error = refusal(BODY, delivery_headers(scheme), OTHER_SECRET, now=NOW)

    assert error.reason == "bad_signature"
    for secret in (NEW_SECRET, OTHER_SECRET):
        assert secret not in str(error)
        assert secret.removeprefix("whsec_") not in str(error)
    assert OTHER_SECRET not in repr(error)


def test_bad_signature_points_out_a_secret_stripped_of_its_prefix() -> None:
    error = refusal(
        BODY, delivery_headers("hmac-sha256"), NEW_SECRET.removeprefix("whsec_"), now=NOW
    )

    assert "'whsec_' included" in str(error)


def test_bad_signature_points_out_a_secret_with_a_trailing_newline() -> None:
    error = refusal(BODY, delivery_headers("hmac-sha256"), NEW_SECRET + "\n", now=NOW)

    assert "leading or trailing whitespace" in str(error)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_refuses_a_delivery_older_than_the_tolerance(scheme: str) -> None:
    headers = delivery_headers(scheme, timestamp=NOW - 301)

    error = refusal(BODY, headers, NEW_SECRET, now=NOW)

    assert error.reason == "timestamp_too_old"
    assert "signed 301 s ago, more than the 300 s tolerance" in str(error)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_refuses_a_delivery_further_in_the_future_than_the_tolerance(scheme: str) -> None:
    headers = delivery_headers(scheme, timestamp=NOW + 301)

    error = refusal(BODY, headers, NEW_SECRET, now=NOW)

    assert error.reason == "timestamp_in_future"
    assert "301 s in the future" in str(error)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("offset", [-300, 300])
def test_accepts_a_delivery_exactly_at_the_tolerance(scheme: str, offset: int) -> None:
    headers = delivery_headers(scheme, timestamp=NOW + offset)

    assert verify(BODY, headers, NEW_SECRET, now=NOW) == EVENT


def test_tolerance_is_configurable() -> None:
    headers = delivery_headers("standard-webhooks", timestamp=NOW - 3600)

    assert verify(BODY, headers, NEW_SECRET, tolerance=3600, now=NOW) == EVENT
    assert refusal(BODY, headers, NEW_SECRET, tolerance=60, now=NOW).reason == "timestamp_too_old"


def test_a_negative_tolerance_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        verify(BODY, delivery_headers("hmac-sha256"), NEW_SECRET, tolerance=-1, now=NOW)


def test_a_stale_standard_webhooks_timestamp_cannot_be_refreshed_without_the_secret() -> None:
    headers = delivery_headers("standard-webhooks", timestamp=NOW - 3600)
    headers["webhook-timestamp"] = str(NOW)

    assert refusal(BODY, headers, NEW_SECRET, now=NOW).reason == "bad_signature"


@pytest.mark.parametrize(
    ("scheme", "dropped", "named"),
    [
        ("hmac-sha256", "X-Webhook-Signature", "no signature header"),
        ("hmac-sha256", "X-Webhook-Timestamp", "X-Webhook-Timestamp is missing"),
        ("standard-webhooks", "webhook-id", "missing or empty: webhook-id"),
        ("standard-webhooks", "webhook-timestamp", "missing or empty: webhook-timestamp"),
        ("standard-webhooks", "webhook-signature", "missing or empty: webhook-signature"),
    ],
)
def test_refuses_a_delivery_missing_a_header_and_names_it(
    scheme: str, dropped: str, named: str
) -> None:
    headers = delivery_headers(scheme)
    del headers[dropped]

    error = refusal(BODY, headers, NEW_SECRET, now=NOW)

    assert error.reason == "missing_header"
    assert named in str(error)


def test_standard_webhooks_signatures_without_their_id_and_timestamp_are_a_missing_header() -> None:
    headers = delivery_headers("standard-webhooks")
    del headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-signature"]

    error = refusal(BODY, headers, NEW_SECRET, now=NOW)

    assert error.reason == "missing_header"
    assert "webhook-id and webhook-timestamp are missing" in str(error)


def test_refuses_a_request_with_no_headers_at_all() -> None:
    assert refusal(BODY, {}, NEW_SECRET, now=NOW).reason == "missing_header"


@pytest.mark.parametrize(
    ("scheme", "header", "value"),
    [
        ("hmac-sha256", "X-Webhook-Signature", "sha1=abc"),
        ("standard-webhooks", "webhook-signature", "v1a,c2lnbmF0dXJl"),
    ],
)
def test_refuses_a_signature_in_an_unknown_format(scheme: str, header: str, value: str) -> None:
    headers = delivery_headers(scheme)
    headers[header] = value

    assert refusal(BODY, headers, NEW_SECRET, now=NOW).reason == "unsupported_signature"


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("value", ["abc", "1.5e9", "-1", "9" * 5000])
def test_refuses_a_timestamp_that_is_not_unix_seconds(scheme: str, value: str) -> None:
    headers = delivery_headers(scheme)
    headers["X-Webhook-Timestamp" if scheme == "hmac-sha256" else "webhook-timestamp"] = value

    error = refusal(BODY, headers, NEW_SECRET, now=NOW)

    assert error.reason == "bad_timestamp"
    assert "must be unix seconds" in str(error)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"verdict=live", "the body is not JSON"),
        (b"\xff\xfe\x00garbage", "the body is not JSON"),
        (b'["evt_1"]', "the body is a JSON list"),
    ],
)
@pytest.mark.parametrize("scheme", SCHEMES)
def test_refuses_a_correctly_signed_body_that_is_not_a_json_object(
    scheme: str, body: bytes, says: str
) -> None:
    error = refusal(body, delivery_headers(scheme, body=body), NEW_SECRET, now=NOW)

    assert error.reason == "invalid_json"
    assert says in str(error)


@pytest.mark.parametrize("secret", ["", [], ["", ""]])
def test_refuses_to_verify_without_a_secret(secret: Any) -> None:
    assert refusal(BODY, delivery_headers("hmac-sha256"), secret, now=NOW).reason == "no_secret"


def test_refuses_a_standard_webhooks_delivery_when_no_secret_is_base64() -> None:
    error = refusal(BODY, delivery_headers("standard-webhooks"), "whsec_not base64!", now=NOW)

    assert error.reason == "invalid_secret"
    assert "not base64!" not in str(error)


def test_a_body_given_as_text_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="raw request body as bytes"):
        verify(BODY.decode(), delivery_headers("hmac-sha256"), NEW_SECRET, now=NOW)  # type: ignore[arg-type]


def test_the_error_is_a_value_error_that_pickles_with_its_reason() -> None:
    error = refusal(BODY, {}, NEW_SECRET, now=NOW)

    copy = pickle.loads(pickle.dumps(error))

    assert isinstance(error, ValueError)
    assert isinstance(copy, WebhookVerificationError)
    assert (copy.reason, str(copy)) == (error.reason, str(error))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_webhook_object_verifies_like_the_function(scheme: str) -> None:
    webhook = Webhook([NEW_SECRET, OLD_SECRET], tolerance=60)

    assert webhook.verify(BODY, delivery_headers(scheme, [OLD_SECRET]), now=NOW) == EVENT
    with pytest.raises(WebhookVerificationError) as caught:
        webhook.verify(BODY, delivery_headers(scheme, timestamp=NOW - 61), now=NOW)
    assert caught.value.reason == "timestamp_too_old"


def test_the_webhook_object_refuses_a_missing_secret_when_built() -> None:
    with pytest.raises(WebhookVerificationError) as caught:
        Webhook("")

    assert caught.value.reason == "no_secret"


def test_the_webhook_objects_repr_hides_its_secrets() -> None:
    assert repr(Webhook([NEW_SECRET, OLD_SECRET])) == "Webhook(<2 secret(s)>, tolerance=300)"


def test_the_public_api_is_sorted_and_complete() -> None:
    import livehook.receiver

    assert livehook.receiver.__all__ == sorted(livehook.receiver.__all__)
    assert set(livehook.receiver.__all__) == {
        "DEFAULT_TOLERANCE",
        "Webhook",
        "WebhookVerificationError",
        "verify",
    }


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
_EVENTS = st.dictionaries(st.text(max_size=8), _JSON_VALUES, max_size=6)
_STANDARD_SECRETS = st.binary(min_size=1, max_size=64).map(
    lambda key: "whsec_" + base64.b64encode(key).decode()
)
_HMAC_SECRETS = st.text(min_size=1) | _STANDARD_SECRETS


@given(
    event=_EVENTS,
    scheme=st.sampled_from(SCHEMES),
    hmac_secret=_HMAC_SECRETS,
    standard_secret=_STANDARD_SECRETS,
    timestamp=st.integers(min_value=0, max_value=2**40),
    data=st.data(),
)
def test_any_signed_body_round_trips_and_any_single_byte_change_fails(
    event: dict[str, Any],
    scheme: str,
    hmac_secret: str,
    standard_secret: str,
    timestamp: int,
    data: st.DataObject,
) -> None:
    secret = hmac_secret if scheme == "hmac-sha256" else standard_secret
    body = json.dumps(event).encode()
    headers = delivery_headers(scheme, [secret], body, timestamp)

    assert verify(body, headers, secret, now=timestamp) == event

    index = data.draw(st.integers(min_value=0, max_value=len(body) - 1), label="index")
    flip = data.draw(st.integers(min_value=1, max_value=255), label="xor")
    tampered = bytearray(body)
    tampered[index] ^= flip
    error = refusal(bytes(tampered), headers, secret, now=timestamp)
    assert error.reason == "bad_signature"


def test_importing_the_receiver_loads_only_the_standard_library() -> None:
    script = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "import livehook.receiver\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout)

    heavy = {"fastapi", "starlette", "pydantic", "sqlalchemy", "aiohttp", "orjson"}
    assert heavy.isdisjoint(name.split(".")[0] for name in loaded)
    foreign = [
        name
        for name in loaded
        if name.split(".")[0] not in sys.stdlib_module_names and name.split(".")[0] != "livehook"
    ]
    assert foreign == []
    # Nothing of livehook outside the receiver: it installs without the server.
    assert {name for name in loaded if name.startswith("livehook")} <= {
        "livehook",
        "livehook.receiver",
        "livehook.receiver._exceptions",
        "livehook.receiver._signatures",
        "livehook.receiver._verify",
    }
