"""Building webhook payloads and the body bytes that are signed, sent and logged.

A payload is `{"id", "event", "session_id", "timestamp", "data"}` (`full`) or the same without
`data` (`thin`: the receiver fetches the session with `GET /v1/sessions/{id}`). It is never wrapped
in the API's response envelope. Key order is fixed by construction and the body is serialized once
by `encode_body`; those exact bytes are what gets signed, sent and shown in delivery logs.

Timestamps are UTC with microseconds and a `Z` ("2026-02-10T15:26:42.123456Z"), like the source
documents. Operational events (`webhook.disabled`, `delivery.exhausted`) have `session_id: null`
unless they concern one session.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import orjson

from livehook.domain.catalog import (
    EVENT_TYPES,
    LIVENESS_FAILED,
    LIVENESS_PASSED,
    check_model,
)
from livehook.domain.lifecycle import STAGES, is_ended
from livehook.domain.verdicts import (
    LIVE,
    check_unit_interval,
    check_verdict,
    confidence_band,
    real_score_fields,
)

PayloadFormat = Literal["full", "thin"]
PAYLOAD_FORMATS: tuple[PayloadFormat, ...] = get_args(PayloadFormat)
DEFAULT_PAYLOAD_FORMAT: PayloadFormat = "full"


def check_format(value: str, name: str = "payload format") -> PayloadFormat:
    """``value`` if it is a payload format; a ValueError naming ``name`` otherwise (the one
    check the API, the session callbacks, the schemas and the builder share)."""
    if value not in PAYLOAD_FORMATS:
        raise ValueError(f"{name} must be {' or '.join(f'`{f}`' for f in PAYLOAD_FORMATS)}")
    return value


EVENT_ID_PREFIX = "evt"  # ids are `ids.sortable_id(EVENT_ID_PREFIX, …)`: `evt_` + 26 chars
EVENT_ID_PATTERN = r"^evt_[0-9A-Za-z_-]{1,64}$"  # sortable ids, with room for other id schemes
ERROR_CODE_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"  # machine-readable, safe to switch on
MAX_ERROR_MESSAGE_CHARS = 1000  # a human-readable sentence, not a stack trace

_EVENT_ID_RE = re.compile(EVENT_ID_PATTERN)
_ERROR_CODE_RE = re.compile(ERROR_CODE_PATTERN)

JSONObject = dict[str, Any]


def format_timestamp(moment: datetime) -> str:
    """`moment` in UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ`; naive datetimes are refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamps must be timezone-aware")
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"timestamp {moment.isoformat()} is out of range in UTC") from None
    # isoformat, not strftime: strftime drops the zero padding of years below 1000 on glibc.
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _check_event_id(event_id: str) -> str:
    if not _EVENT_ID_RE.fullmatch(event_id):
        raise ValueError(f"event id must match {EVENT_ID_PATTERN}, got {event_id!r}")
    return event_id


def _canonical_session_id(session_id: str | uuid.UUID | None) -> str | None:
    if session_id is None:
        return None
    if isinstance(session_id, uuid.UUID):
        return str(session_id)
    try:
        return str(uuid.UUID(session_id))
    except ValueError:
        raise ValueError(f"session id must be a UUID, got {session_id!r}") from None


def build_payload(
    *,
    fmt: PayloadFormat,
    event_id: str,
    event_type: str,
    session_id: str | uuid.UUID | None,
    occurred_at: datetime,
    data: Mapping[str, Any],
    test: bool = False,
) -> JSONObject:
    """The payload dict for one event in format `fmt`; `test=True` marks a test delivery."""
    check_format(fmt)
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    canonical_session = _canonical_session_id(session_id)
    if canonical_session is None and not EVENT_TYPES[event_type].operational:
        raise ValueError(f"{event_type} events belong to a session: session_id is required")
    payload: JSONObject = {
        "id": _check_event_id(event_id),
        "event": event_type,
        "session_id": canonical_session,
        "timestamp": format_timestamp(occurred_at),
    }
    if fmt == "full":
        payload["data"] = dict(data)
    if test:
        payload["test"] = True
    return payload


def encode_body(payload: Mapping[str, Any]) -> bytes:
    """The compact JSON bytes of `payload`, keys in the order they were built.

    Raises `orjson.JSONEncodeError` (a TypeError) for values JSON cannot hold."""
    return orjson.dumps(payload)


def _check_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _optional_unit(value: float | None, name: str) -> float | None:
    return None if value is None else check_unit_interval(value, name)


def stage_data(
    *,
    stage: str,
    external_id: str | None = None,
    external_tracker: str | None = None,
    trust_score: float | None = None,
) -> JSONObject:
    """`data` of a stage event; `step` comes from the catalog."""
    if stage not in STAGES or is_ended(stage):
        raise ValueError(
            f"{stage!r} is not a stage event (verdict_data / failure_data build the endings)"
        )
    return {
        "stage": stage,
        "step": EVENT_TYPES[stage].step,
        "external_id": external_id,
        "external_tracker": external_tracker,
        "trust_score": _optional_unit(trust_score, "trust_score"),
    }


def liveness_data(
    *,
    verdict: str,
    real_score: float,
    external_id: str | None = None,
    external_tracker: str | None = None,
    trust_score: float | None = None,
) -> JSONObject:
    """`data` of `liveness.passed` / `liveness.failed`: the stage fields plus the verdict."""
    stage = LIVENESS_PASSED if check_verdict(verdict) == LIVE else LIVENESS_FAILED
    data = stage_data(
        stage=stage,
        external_id=external_id,
        external_tracker=external_tracker,
        trust_score=trust_score,
    )
    data["verdict"] = verdict
    data.update(real_score_fields(real_score))
    return data


def verdict_data(
    *,
    verdict: str,
    real_score: float,
    confidence: float,
    model: str,
    input_source: str,
    processing_ms: int,
    frames_processed: int,
    created_at: datetime,
    tenant_metadata: Mapping[str, Any] | None = None,
    warning: str | None = None,
) -> JSONObject:
    """`data` of `verification.completed`; `score` and the band `type` are derived here."""
    return {
        "verdict": check_verdict(verdict),
        **real_score_fields(real_score),
        "confidence": check_unit_interval(confidence, "confidence"),
        "type": confidence_band(confidence),
        "model": check_model(model),
        "input_source": input_source,
        "processing_ms": _check_count(processing_ms, "processing_ms"),
        "frames_processed": _check_count(frames_processed, "frames_processed"),
        "tenant_metadata": None if tenant_metadata is None else dict(tenant_metadata),
        "warning": warning,
        "created_at": format_timestamp(created_at),
    }


def failure_data(
    code: str,
    message: str,
    *,
    last_stage: str | None = None,
    model: str | None = None,
    external_id: str | None = None,
    external_tracker: str | None = None,
) -> JSONObject:
    """`data` of `verification.failed`: the error and where the session was; no verdict."""
    if not _ERROR_CODE_RE.fullmatch(code):
        raise ValueError(f"error code must match {ERROR_CODE_PATTERN}, got {code!r}")
    if not message or len(message) > MAX_ERROR_MESSAGE_CHARS:
        raise ValueError(f"error message must be 1..{MAX_ERROR_MESSAGE_CHARS} characters")
    if last_stage is not None and (last_stage not in STAGES or is_ended(last_stage)):
        raise ValueError(f"{last_stage!r} is not a stage a session can fail from")
    return {
        "code": code,
        "message": message,
        "last_stage": last_stage,
        "model": None if model is None else check_model(model),
        "external_id": external_id,
        "external_tracker": external_tracker,
    }


def webhook_disabled_data(
    *, webhook_id: str, url: str, reason: str, disabled_at: datetime
) -> JSONObject:
    """`data` of `webhook.disabled`."""
    return {
        "webhook_id": webhook_id,
        "url": url,
        "reason": reason,
        "disabled_at": format_timestamp(disabled_at),
    }


def delivery_exhausted_data(
    *,
    webhook_id: str,
    delivery_id: str,
    event_id: str,
    event_type: str,
    attempts: int,
    last_status: int | None,
    last_error: str | None,
) -> JSONObject:
    """`data` of `delivery.exhausted`: which delivery gave up and how its last attempt ended."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    return {
        "webhook_id": webhook_id,
        "delivery_id": delivery_id,
        "event_id": _check_event_id(event_id),
        "event": event_type,
        "attempts": attempts,
        "last_status": last_status,
        "last_error": last_error,
    }
