"""Payload shapes, body bytes, and their JSON Schemas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, ValidationError

from livehook.domain.catalog import EVENT_TYPES, MODELS
from livehook.domain.event_schemas import event_type_catalog, example_for, schema_for
from livehook.domain.payloads import (
    PayloadFormat,
    build_payload,
    delivery_exhausted_data,
    encode_body,
    failure_data,
    format_timestamp,
    liveness_data,
    stage_data,
    verdict_data,
    webhook_disabled_data,
)

SESSION = "550e8400-e29b-41d4-a716-446655440000"
EVENT_ID = "evt_01kh4x2m3nabq8r9s0t1v2w3x4y5"
AT = datetime(2026, 2, 10, 15, 26, 42, 123456, tzinfo=UTC)
FORMATS: tuple[PayloadFormat, ...] = ("full", "thin")


def validate(payload: dict[str, Any]) -> None:
    schema = schema_for(payload["event"], "full" if "data" in payload else "thin")
    Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(
        payload
    )


def seed_completion(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "verdict": "live",
        "real_score": 0.94,
        "confidence": 0.94,
        "model": "mixed-10-v2",
        "input_source": "rest_frames",
        "processing_ms": 845,
        "frames_processed": 10,
        "created_at": AT,
    }
    return verdict_data(**{**fields, **overrides})


def payload(
    event_type: str, data: dict[str, Any], fmt: PayloadFormat = "full", **kw: Any
) -> dict[str, Any]:
    return build_payload(
        fmt=fmt,
        event_id=EVENT_ID,
        event_type=event_type,
        session_id=kw.pop("session_id", SESSION),
        occurred_at=kw.pop("occurred_at", AT),
        data=data,
        **kw,
    )


def test_full_completion_body_matches_the_source_documents_byte_for_byte() -> None:
    body = encode_body(payload("verification.completed", seed_completion()))
    assert body == (
        b'{"id":"evt_01kh4x2m3nabq8r9s0t1v2w3x4y5","event":"verification.completed",'
        b'"session_id":"550e8400-e29b-41d4-a716-446655440000",'
        b'"timestamp":"2026-02-10T15:26:42.123456Z","data":{"verdict":"live","real_score":0.94,'
        b'"score":94.0,"confidence":0.94,"type":"VERY HIGH","model":"mixed-10-v2",'
        b'"input_source":"rest_frames","processing_ms":845,"frames_processed":10,'
        b'"tenant_metadata":null,"warning":null,"created_at":"2026-02-10T15:26:42.123456Z"}}'
    )


def test_thin_payload_has_no_data_even_when_data_is_given() -> None:
    body = encode_body(payload("verification.completed", seed_completion(), fmt="thin"))
    assert body == (
        b'{"id":"evt_01kh4x2m3nabq8r9s0t1v2w3x4y5","event":"verification.completed",'
        b'"session_id":"550e8400-e29b-41d4-a716-446655440000",'
        b'"timestamp":"2026-02-10T15:26:42.123456Z"}'
    )


def test_test_flag_is_a_top_level_true_and_absent_otherwise() -> None:
    assert payload("liveness.started", {}, fmt="thin", test=True)["test"] is True
    assert "test" not in payload("liveness.started", {}, fmt="thin")
    assert encode_body(payload("liveness.started", {}, fmt="thin", test=True)).endswith(
        b',"test":true}'
    )


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (AT, "2026-02-10T15:26:42.123456Z"),
        (datetime(2026, 2, 10, 15, 26, 42, tzinfo=UTC), "2026-02-10T15:26:42.000000Z"),
        (
            datetime(2026, 2, 10, 17, 26, 42, 5, tzinfo=timezone(timedelta(hours=2))),
            "2026-02-10T15:26:42.000005Z",
        ),
        (datetime(999, 1, 1, tzinfo=UTC), "0999-01-01T00:00:00.000000Z"),
    ],
)
def test_timestamps_are_utc_with_microseconds_and_z(moment: datetime, text: str) -> None:
    assert format_timestamp(moment) == text


def test_timestamps_that_leave_the_calendar_in_utc_are_refused() -> None:
    with pytest.raises(ValueError, match="out of range in UTC"):
        format_timestamp(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))))


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        payload("liveness.started", {}, occurred_at=datetime(2026, 2, 10))


def test_session_id_is_canonicalised_and_required_for_session_events() -> None:
    assert payload("liveness.started", {}, session_id=SESSION.upper())["session_id"] == SESSION
    with pytest.raises(ValueError, match="session id must be a UUID, got 'sess_1'"):
        payload("liveness.started", {}, session_id="sess_1")
    with pytest.raises(ValueError, match="session_id is required"):
        payload("liveness.started", {}, session_id=None)
    assert payload("webhook.disabled", {}, session_id=None)["session_id"] is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"event_type": "verification.done"}, "unknown event type"),
        ({"event_id": "abc"}, "event id must match"),
        ({"event_id": "evt_abc\n"}, "event id must match"),
        ({"fmt": "fat"}, "payload format must be `full` or `thin`"),
    ],
)
def test_build_payload_refuses_bad_arguments(overrides: dict[str, Any], message: str) -> None:
    arguments: dict[str, Any] = {
        "fmt": "full",
        "event_id": EVENT_ID,
        "event_type": "liveness.started",
        "session_id": SESSION,
        "occurred_at": AT,
        "data": {},
    }
    with pytest.raises(ValueError, match=message):
        build_payload(**{**arguments, **overrides})


def test_stage_data_takes_its_step_from_the_catalog() -> None:
    assert stage_data(stage="consent.granted", external_id="u1", trust_score=0.4) == {
        "stage": "consent.granted",
        "step": 3,
        "external_id": "u1",
        "external_tracker": None,
        "trust_score": 0.4,
    }
    assert stage_data(stage="face.collision")["step"] is None


@pytest.mark.parametrize("stage", ["verification.completed", "webhook.disabled", "nope"])
def test_stage_data_refuses_endings_and_non_stages(stage: str) -> None:
    with pytest.raises(ValueError, match="is not a stage event"):
        stage_data(stage=stage)


def test_liveness_data_names_the_stage_matching_the_verdict() -> None:
    passed = liveness_data(verdict="live", real_score=0.91)
    assert (passed["stage"], passed["step"], passed["score"]) == ("liveness.passed", 5, 91.0)
    failed = liveness_data(verdict="fake", real_score=0.07)
    assert (failed["stage"], failed["step"], failed["verdict"]) == ("liveness.failed", None, "fake")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"real_score": 1.5}, "real_score must be a number in"),
        ({"confidence": -0.1}, "confidence must be a number in"),
        ({"verdict": "real"}, "verdict must be one of"),
        ({"model": "mixed-45-v2"}, "unknown model"),
        ({"processing_ms": -1}, "processing_ms must be a non-negative integer"),
        ({"frames_processed": 9.5}, "frames_processed must be a non-negative integer"),
    ],
)
def test_verdict_data_refuses_invalid_fields(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        seed_completion(**overrides)


def test_verdict_data_derives_score_and_band_from_its_inputs() -> None:
    data = seed_completion(verdict="fake", real_score=0.031, confidence=0.62)
    assert (data["score"], data["type"]) == (3.1, "MEDIUM")


def test_failure_data_carries_the_error_and_no_verdict() -> None:
    data = failure_data("ml_timeout", "Model timed out.", last_stage="liveness.started")
    assert data == {
        "code": "ml_timeout",
        "message": "Model timed out.",
        "last_stage": "liveness.started",
        "model": None,
        "external_id": None,
        "external_tracker": None,
    }


@pytest.mark.parametrize(
    ("code", "message", "last_stage", "error"),
    [
        ("bad code", "x", None, "error code must match"),
        ("", "x", None, "error code must match"),
        ("ok", "", None, "error message must be 1..1000"),
        ("ok", "x" * 1001, None, "error message must be 1..1000"),
        ("ok", "x", "verification.completed", "not a stage a session can fail from"),
    ],
)
def test_failure_data_refuses_invalid_errors(
    code: str, message: str, last_stage: str | None, error: str
) -> None:
    with pytest.raises(ValueError, match=error):
        failure_data(code, message, last_stage=last_stage)


def test_encode_body_is_compact_and_keeps_build_order() -> None:
    assert encode_body({"b": 1, "a": [1, 2], "c": {"z": None, "y": "é"}}) == (
        '{"b":1,"a":[1,2],"c":{"z":null,"y":"é"}}'.encode()
    )


# --- schemas --------------------------------------------------------------------------------

TYPES_AND_FORMATS = [(name, fmt) for name in EVENT_TYPES for fmt in FORMATS]


@pytest.mark.parametrize(("event_type", "fmt"), TYPES_AND_FORMATS)
def test_every_schema_is_valid_draft_2020_12(event_type: str, fmt: PayloadFormat) -> None:
    schema = schema_for(event_type, fmt)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize(("event_type", "fmt"), TYPES_AND_FORMATS)
def test_every_example_validates_against_its_schema(event_type: str, fmt: PayloadFormat) -> None:
    example = example_for(event_type, fmt)
    assert example["event"] == event_type
    assert ("data" in example) is (fmt == "full")
    validate(example)


def built_payloads() -> list[dict[str, Any]]:
    """Payloads the services would build, with nulls and optional fields in play."""
    return [
        payload("verification.completed", seed_completion()),
        payload(
            "verification.completed",
            seed_completion(verdict="fake", tenant_metadata={"a": [1]}, warning="low light"),
            test=True,
        ),
        payload("verification.initialized", stage_data(stage="verification.initialized")),
        payload("account.created", stage_data(stage="account.created", external_tracker="ads")),
        payload("liveness.passed", liveness_data(verdict="live", real_score=1.0, trust_score=0.9)),
        payload("liveness.failed", liveness_data(verdict="fake", real_score=0.0)),
        payload("verification.failed", failure_data("E42", "Boom.", model="mixed-90-v2")),
        payload(
            "webhook.disabled",
            webhook_disabled_data(
                webhook_id="wh_1", url="https://a.example/h", reason="410 Gone", disabled_at=AT
            ),
            session_id=None,
        ),
        payload(
            "delivery.exhausted",
            delivery_exhausted_data(
                webhook_id="wh_1",
                delivery_id="dlv_1",
                event_id=EVENT_ID,
                event_type="liveness.passed",
                attempts=2,
                last_status=None,
                last_error="connection refused",
            ),
        ),
        payload("liveness.cancelled", {}, fmt="thin", test=True),
    ]


@pytest.mark.parametrize("built", built_payloads(), ids=lambda p: f"{p['event']}")
def test_built_payloads_validate_against_their_schemas(built: dict[str, Any]) -> None:
    validate(orjson.loads(encode_body(built)))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.update(extra=1),
        lambda p: p["data"].update(surprise=True),
        lambda p: p.pop("data"),
        lambda p: p.update(event="verification.failed"),
        lambda p: p.update(timestamp="2026-02-10T15:26:42Z"),
        lambda p: p.update(test=False),
        lambda p: p["data"].update(type="ULTRA"),
        lambda p: p["data"].update(real_score=1.2),
    ],
    ids=[
        "extra",
        "extra-data",
        "no-data",
        "wrong-event",
        "no-micros",
        "test-false",
        "bad-band",
        "score>1",
    ],
)
def test_schemas_reject_payloads_that_stray_from_the_contract(mutate: Any) -> None:
    built = payload("verification.completed", seed_completion())
    mutate(built)
    with pytest.raises(ValidationError):
        Draft202012Validator(schema_for("verification.completed", "full")).validate(built)


def test_thin_schema_rejects_data() -> None:
    built = payload("liveness.started", stage_data(stage="liveness.started"))
    with pytest.raises(ValidationError):
        Draft202012Validator(schema_for("liveness.started", "thin")).validate(built)


def test_schema_for_refuses_unknown_types_and_formats() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        schema_for("verification.done", "full")
    with pytest.raises(ValueError, match="payload format must be `full` or `thin`"):
        schema_for("verification.completed", "fat")  # type: ignore[arg-type]


def test_delivery_exhausted_data_refuses_unknown_event_types() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        delivery_exhausted_data(
            webhook_id="wh_1",
            delivery_id="dlv_1",
            event_id=EVENT_ID,
            event_type="nope",
            attempts=1,
            last_status=500,
            last_error=None,
        )


def test_event_type_catalog_lists_every_type_with_schemas_and_examples() -> None:
    catalog = event_type_catalog()
    assert [entry["name"] for entry in catalog] == list(EVENT_TYPES)
    completed = catalog[list(EVENT_TYPES).index("verification.completed")]
    assert {k: completed[k] for k in ("step", "drop_off", "operational")} == {
        "step": 6,
        "drop_off": False,
        "operational": False,
    }
    assert set(completed["schemas"]) == set(completed["examples"]) == {"full", "thin"}
    orjson.dumps(catalog)  # served as JSON as-is


def test_event_type_catalog_returns_fresh_dicts() -> None:
    event_type_catalog()[0]["schemas"]["full"]["title"] = "changed"
    assert event_type_catalog()[0]["schemas"]["full"]["title"] == "verification.initialized (full)"


@given(
    verdict=st.sampled_from(["live", "fake"]),
    real_score=st.floats(0, 1),
    confidence=st.floats(0, 1),
    model=st.sampled_from(list(MODELS)),
    processing_ms=st.integers(0, 10**7),
    frames=st.integers(0, 500),
    warning=st.none() | st.text(max_size=20),
    occurred_at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.timezones()
    ),
)
def test_any_valid_completion_validates_against_the_schema(
    verdict: str,
    real_score: float,
    confidence: float,
    model: str,
    processing_ms: int,
    frames: int,
    warning: str | None,
    occurred_at: datetime,
) -> None:
    data = seed_completion(
        verdict=verdict,
        real_score=real_score,
        confidence=confidence,
        model=model,
        processing_ms=processing_ms,
        frames_processed=frames,
        warning=warning,
        created_at=occurred_at,
    )
    validate(orjson.loads(encode_body(payload("verification.completed", data))))
