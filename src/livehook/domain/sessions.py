"""Verification sessions and their events, and the rules their values follow.

Event `data` is always the `full` payload's data, so a `thin` payload is the same event with
`data` left out. Events copy the session's model, external tracker and creation time: the funnel
reads them from one index without joining sessions. `reports` turns reports into both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from livehook.domain import lifecycle, payloads, profiles
from livehook.domain.catalog import (
    EVENT_TYPES,
    MODELS,
)
from livehook.domain.catalog import check_model as catalog_check_model
from livehook.domain.retry import RetryPolicy
from livehook.domain.values import json_problem
from livehook.domain.verdicts import check_unit_interval, check_verdict

# tenant_metadata is echoed in every verdict payload: keep it small enough to sign and send.
MAX_TENANT_METADATA_BYTES = 16 * 1024
# external_id / external_tracker: the columns' width.
MAX_LABEL_CHARS = 255
# The most events one report emits: a live verdict with a face collision on a session that
# never reported liveness.started emits liveness.started, liveness.passed, face.collision and
# verification.completed.
MAX_EVENTS_PER_REPORT = 4


@dataclass(frozen=True, slots=True)
class Session:
    id: str  # UUID, canonical text
    account_id: str
    api_key_id: str
    model: str
    external_id: str | None
    external_tracker: str | None
    tenant_metadata: Mapping[str, Any] | None
    callback_url: str | None
    callback_format: str
    stage: str
    status: str
    trust_score: float | None
    result: Mapping[str, Any] | None
    error: Mapping[str, Any] | None
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    callback_profile: str = "livehook"  # domain/profiles.py
    # None: the callback profile's default (`WireProfile.callback_retry_policy`).
    callback_retry_policy: str | list[int] | None = None


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    account_id: str
    session_id: str | None
    type: str
    data: Mapping[str, Any]
    created_at: datetime
    model: str | None = None
    external_tracker: str | None = None
    session_created_at: datetime | None = None
    is_test: bool = False


@dataclass(frozen=True, slots=True)
class StageReached:
    stage: str
    step: int | None
    reached_at: datetime
    event_id: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the engine reports at the end of liveness."""

    verdict: str
    real_score: float
    confidence: float
    input_source: str
    processing_ms: int
    frames_processed: int
    warning: str | None = None
    # The uniqueness check matched an existing person: face.collision precedes the completion.
    face_collision: bool = False


class FieldError(ValueError):
    """A value a report or a new session cannot have; `field` names it for the caller."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_tenant_metadata(value: Any) -> dict[str, Any] | None:
    """`value` if it is None or a JSON object within the size bound, else FieldError."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise FieldError("tenant_metadata", "tenant_metadata must be a JSON object")
    problem = json_problem(value, "tenant_metadata")
    if problem:  # the verdict's payload must be able to carry it
        raise FieldError("tenant_metadata", problem)
    try:
        # The standard library's JSON, as storage uses: it refuses datetimes, NaN and the like.
        text = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
        size = len(text.encode())
    except (TypeError, ValueError):
        raise FieldError("tenant_metadata", "tenant_metadata must hold JSON values only") from None
    if size > MAX_TENANT_METADATA_BYTES:
        raise FieldError(
            "tenant_metadata",
            f"tenant_metadata is {size} bytes as JSON; the limit is {MAX_TENANT_METADATA_BYTES}",
        )
    return dict(value)


def check_label(field: str, value: str | None) -> str | None:
    """An `external_id` / `external_tracker`: None or 1..MAX_LABEL_CHARS characters."""
    if value is not None and not 1 <= len(value) <= MAX_LABEL_CHARS:
        raise FieldError(field, f"{field} must be 1 to {MAX_LABEL_CHARS} characters")
    return value


def check_model(model: str) -> str:
    try:
        return catalog_check_model(model)
    except ValueError as exc:
        raise FieldError("model", str(exc)) from None


def check_callback_format(value: str) -> str:
    try:
        return payloads.check_format(value, "callback_format")
    except ValueError as exc:
        raise FieldError("callback_format", str(exc)) from None


def check_callback_profile(value: str, callback_format: str = "full") -> str:
    try:
        profile = profiles.get(value)
    except ValueError as exc:
        raise FieldError("callback_profile", str(exc)) from None
    if callback_format not in profile.payload_formats:
        raise FieldError("callback_format", profiles.fixed_shape_message(profile))
    return profile.name


def check_callback_retry_policy(value: str | list[int] | None) -> str | list[int] | None:
    """The policy in its stored form, or None for the callback profile's default."""
    if value is None:
        return None
    try:
        return RetryPolicy.parse(value).to_json()
    except ValueError as exc:
        raise FieldError("callback_retry_policy", str(exc)) from None


def check_trust_score(value: float | None) -> float | None:
    try:
        return None if value is None else check_unit_interval(value, "trust_score")
    except ValueError as exc:
        raise FieldError("trust_score", str(exc)) from None


def check_frames(model: str, frames_processed: int) -> int:
    """`frames_processed` if the session's model can have processed that many."""
    frames = MODELS[model].frames
    if not 0 <= frames_processed <= frames:
        raise FieldError(
            "frames_processed",
            f"frames_processed must be between 0 and {frames} for model {model}",
        )
    return frames_processed


def check_verdict_report(model: str, verdict: Verdict) -> None:
    """FieldError naming the first field of `verdict` a session of `model` cannot report."""
    try:
        check_verdict(verdict.verdict)
    except ValueError as exc:
        raise FieldError("verdict", str(exc)) from None
    for field in ("real_score", "confidence"):
        try:
            check_unit_interval(getattr(verdict, field), field)
        except ValueError as exc:
            raise FieldError(field, str(exc)) from None
    if verdict.processing_ms < 0:
        raise FieldError("processing_ms", "processing_ms cannot be negative")
    check_frames(model, verdict.frames_processed)


def check_stage(stage: str) -> str:
    """`stage` if a plain stage report may carry it (verdicts and failures have their own)."""
    if stage not in lifecycle.REPORTABLE_STAGES:
        raise FieldError(
            "stage",
            f"{stage!r} cannot be reported as a stage; one of: "
            + ", ".join(sorted(lifecycle.REPORTABLE_STAGES))
            + " (verdicts go to /result, failures to /failure)",
        )
    return stage


def check_failure(code: str, message: str) -> None:
    if not re.fullmatch(payloads.ERROR_CODE_PATTERN, code):
        raise FieldError("code", f"code must match {payloads.ERROR_CODE_PATTERN}")
    if not 1 <= len(message) <= payloads.MAX_ERROR_MESSAGE_CHARS:
        raise FieldError(
            "message", f"message must be 1 to {payloads.MAX_ERROR_MESSAGE_CHARS} characters"
        )


def stages_reached(events: Sequence[Event]) -> list[StageReached]:
    """A session's stages in the order they happened.

    The transition table only moves forward through `lifecycle.STAGES`, so that order is exact
    even for the events of one report, which share a timestamp."""
    position = {stage: index for index, stage in enumerate(lifecycle.STAGES)}
    ordered = sorted(
        (e for e in events if e.type in position), key=lambda e: (position[e.type], e.created_at)
    )
    return [StageReached(e.type, EVENT_TYPES[e.type].step, e.created_at, e.id) for e in ordered]


@dataclass(frozen=True, slots=True)
class SessionQuery:
    """Filters of a session listing; None means "any"."""

    status: str | None = None
    model: str | None = None
    external_id: str | None = None
    external_tracker: str | None = None
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Filters of an event listing; None means "any"."""

    session_id: str | None = None
    type: str | None = None
    created_after: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive
