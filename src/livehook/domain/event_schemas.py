"""JSON Schemas (draft 2020-12) and example payloads for every event type and format.

Served by `GET /v1/event-types` and shown in the portal. The schemas describe exactly what this
version sends (`additionalProperties: false`), so integrators can generate types from them and
catch typos in field names; they are served live, so they move with the server. The examples are
built by `payloads`, the same code that builds real deliveries, so they cannot drift from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from livehook.domain.catalog import (
    DELIVERY_EXHAUSTED,
    EVENT_TYPES,
    LIVENESS_FAILED,
    LIVENESS_PASSED,
    MODELS,
    VERIFICATION_COMPLETED,
    VERIFICATION_FAILED,
    WEBHOOK_DISABLED,
    EventType,
)
from livehook.domain.lifecycle import STAGES, is_ended
from livehook.domain.payloads import (
    ERROR_CODE_PATTERN,
    EVENT_ID_PATTERN,
    MAX_ERROR_MESSAGE_CHARS,
    PAYLOAD_FORMATS,
    JSONObject,
    PayloadFormat,
    build_payload,
    check_format,
    delivery_exhausted_data,
    failure_data,
    liveness_data,
    stage_data,
    verdict_data,
    webhook_disabled_data,
)
from livehook.domain.verdicts import CONFIDENCE_BAND_NAMES, VERDICTS

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_TIMESTAMP = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$",
    "description": "UTC, microseconds, `Z` suffix.",
}
_EVENT_ID = {"type": "string", "pattern": EVENT_ID_PATTERN}
_UNIT = {"type": "number", "minimum": 0, "maximum": 1}
_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_UNIT = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_COUNT = {"type": "integer", "minimum": 0}
_FAILABLE_STAGES = [stage for stage in STAGES if not is_ended(stage)]


def _object(properties: Mapping[str, Any], description: str) -> JSONObject:
    return {
        "type": "object",
        "description": description,
        "required": list(properties),
        "properties": dict(properties),
        "additionalProperties": False,
    }


def _stage_properties(spec: EventType) -> JSONObject:
    return {
        "stage": {"const": spec.name},
        "step": {"const": spec.step, "description": "Position on the happy path, if any."},
        "external_id": {**_NULLABLE_STRING, "description": "The id linked at initialize."},
        "external_tracker": {**_NULLABLE_STRING, "description": "Non-PII label from initialize."},
        "trust_score": {**_NULLABLE_UNIT, "description": "The running trust score, if known."},
    }


def _stage_schema(spec: EventType) -> JSONObject:
    return _object(_stage_properties(spec), "Where the session is in the flow.")


def _liveness_schema(spec: EventType) -> JSONObject:
    verdict = "live" if spec.name == LIVENESS_PASSED else "fake"
    properties = {
        **_stage_properties(spec),
        "verdict": {"const": verdict},
        "real_score": _UNIT,
        "score": {"type": "number", "minimum": 0, "maximum": 100},
    }
    return _object(properties, "The liveness stage and its verdict.")


def _completed_schema(_spec: EventType) -> JSONObject:
    properties = {
        "verdict": {"enum": list(VERDICTS)},
        "real_score": {**_UNIT, "description": "The model's liveness score, 0..1."},
        "score": {
            "type": "number",
            "minimum": 0,
            "maximum": 100,
            "description": "real_score * 100",
        },
        "confidence": _UNIT,
        "type": {"enum": list(CONFIDENCE_BAND_NAMES), "description": "The confidence band."},
        "model": {"enum": list(MODELS)},
        "input_source": {"type": "string", "description": "How frames arrived, e.g. rest_frames."},
        "processing_ms": _COUNT,
        "frames_processed": _COUNT,
        "tenant_metadata": {"type": ["object", "null"], "description": "Echoed from the session."},
        "warning": _NULLABLE_STRING,
        "created_at": _TIMESTAMP,
    }
    return _object(properties, "The verdict of the verification.")


def _failed_schema(_spec: EventType) -> JSONObject:
    properties = {
        "code": {"type": "string", "pattern": ERROR_CODE_PATTERN},
        "message": {"type": "string", "minLength": 1, "maxLength": MAX_ERROR_MESSAGE_CHARS},
        "last_stage": {"enum": [*_FAILABLE_STAGES, None]},
        "model": {"enum": [*MODELS, None]},
        "external_id": _NULLABLE_STRING,
        "external_tracker": _NULLABLE_STRING,
    }
    return _object(properties, "The processing error; there is no verdict.")


def _webhook_disabled_schema(_spec: EventType) -> JSONObject:
    properties = {
        "webhook_id": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "reason": {"type": "string"},
        "disabled_at": _TIMESTAMP,
    }
    return _object(properties, "The endpoint that was disabled and why.")


def _delivery_exhausted_schema(_spec: EventType) -> JSONObject:
    properties = {
        "webhook_id": {"type": "string"},
        "delivery_id": {"type": "string"},
        "event_id": _EVENT_ID,
        "event": {"enum": list(EVENT_TYPES)},
        "attempts": {"type": "integer", "minimum": 1},
        "last_status": {"type": ["integer", "null"]},
        "last_error": _NULLABLE_STRING,
    }
    return _object(properties, "The delivery that used up its retries.")


_DATA_SCHEMAS: Mapping[str, Callable[[EventType], JSONObject]] = MappingProxyType(
    {
        LIVENESS_PASSED: _liveness_schema,
        LIVENESS_FAILED: _liveness_schema,
        VERIFICATION_COMPLETED: _completed_schema,
        VERIFICATION_FAILED: _failed_schema,
        WEBHOOK_DISABLED: _webhook_disabled_schema,
        DELIVERY_EXHAUSTED: _delivery_exhausted_schema,
    }
)


def schema_for(event_type: str, fmt: PayloadFormat) -> JSONObject:
    """The JSON Schema of `event_type` payloads in format `fmt` (a fresh dict each call)."""
    spec = EVENT_TYPES.get(event_type)
    if spec is None:
        raise ValueError(f"unknown event type {event_type!r}")
    check_format(fmt)
    session_id: JSONObject = {"type": "string", "format": "uuid"}
    if spec.operational:
        session_id = {"type": ["string", "null"], "format": "uuid"}
    properties: JSONObject = {
        "id": {**_EVENT_ID, "description": "Stable across retries: de-duplicate on it."},
        "event": {"const": spec.name},
        "session_id": session_id,
        "timestamp": {**_TIMESTAMP, "description": "When the event happened (UTC)."},
    }
    if fmt == "full":
        properties["data"] = _DATA_SCHEMAS.get(event_type, _stage_schema)(spec)
    schema = _object(properties, spec.description)
    schema["properties"]["test"] = {"const": True, "description": "Present on test deliveries."}
    return {
        "$schema": SCHEMA_DIALECT,
        "$id": f"urn:livehook:event:{spec.name}:{fmt}",
        "title": f"{spec.name} ({fmt})",
        **schema,
    }


_EXAMPLE_SESSION = "550e8400-e29b-41d4-a716-446655440000"
_EXAMPLE_AT = datetime(2026, 2, 10, 15, 26, 42, 123456, tzinfo=UTC)
_EXAMPLE_TRACKING = {"external_id": "user_123", "external_tracker": "signup-campaign"}


def _example_data(event_type: str, at: datetime) -> JSONObject:
    if event_type in (LIVENESS_PASSED, LIVENESS_FAILED):
        live = event_type == LIVENESS_PASSED
        return liveness_data(
            verdict="live" if live else "fake",
            real_score=0.94 if live else 0.08,
            trust_score=0.92 if live else 0.12,
            **_EXAMPLE_TRACKING,
        )
    if event_type == VERIFICATION_COMPLETED:
        return verdict_data(
            verdict="live",
            real_score=0.94,
            confidence=0.94,
            model="mixed-30-v2",
            input_source="rest_frames",
            processing_ms=845,
            frames_processed=30,
            created_at=at,
            tenant_metadata={"plan": "pro"},
        )
    if event_type == VERIFICATION_FAILED:
        return failure_data(
            "video_pipeline_error",
            "The video could not be decoded.",
            last_stage="liveness.started",
            model="mixed-30-v2",
            **_EXAMPLE_TRACKING,
        )
    if event_type == WEBHOOK_DISABLED:
        return webhook_disabled_data(
            webhook_id="wh_2x8mQ4",
            url="https://your-app.com/api/livehook/webhook",
            reason="the endpoint answered 410 Gone",
            disabled_at=at,
        )
    if event_type == DELIVERY_EXHAUSTED:
        return delivery_exhausted_data(
            webhook_id="wh_2x8mQ4",
            delivery_id="dlv_9f3c1a",
            event_id="evt_01kh4x2m3n09q8r9s0t1v2w3x4y5",
            event_type=VERIFICATION_COMPLETED,
            attempts=8,
            last_status=503,
            last_error=None,
        )
    return stage_data(stage=event_type, trust_score=0.5, **_EXAMPLE_TRACKING)


def example_for(event_type: str, fmt: PayloadFormat) -> JSONObject:
    """A realistic payload of `event_type` in format `fmt` (a fresh dict each call)."""
    position = list(EVENT_TYPES).index(event_type)
    at = _EXAMPLE_AT + timedelta(seconds=7 * position)  # events of one session, a few s apart
    return build_payload(
        fmt=fmt,
        event_id=f"evt_01kh4x2m3n{position:02d}q8r9s0t1v2w3x4y5",
        event_type=event_type,
        session_id=None if event_type == WEBHOOK_DISABLED else _EXAMPLE_SESSION,
        occurred_at=at,
        data=_example_data(event_type, at) if fmt == "full" else {},
    )


def event_type_catalog() -> list[JSONObject]:
    """Every event type with its schemas and examples, in catalog order."""
    return [
        {
            "name": spec.name,
            "description": spec.description,
            "step": spec.step,
            "drop_off": spec.drop_off,
            "operational": spec.operational,
            "schemas": {fmt: schema_for(spec.name, fmt) for fmt in PAYLOAD_FORMATS},
            "examples": {fmt: example_for(spec.name, fmt) for fmt in PAYLOAD_FORMATS},
        }
        for spec in EVENT_TYPES.values()
    ]
