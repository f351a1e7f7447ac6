"""How a report turns into the session's new state and the events it emits.

A report (a new session, a stage, a verdict, a failure) is checked against `lifecycle` and the
value rules of `sessions`, then becomes immutable events and the session after them. Storing
them and fanning them out is the services' job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from livehook.domain import lifecycle, payloads, profiles
from livehook.domain.catalog import (
    LIVENESS_FAILED,
    LIVENESS_PASSED,
    VERIFICATION_COMPLETED,
    VERIFICATION_FAILED,
)
from livehook.domain.sessions import (
    Event,
    Session,
    Verdict,
    check_callback_format,
    check_callback_profile,
    check_callback_retry_policy,
    check_failure,
    check_label,
    check_model,
    check_stage,
    check_tenant_metadata,
    check_trust_score,
    check_verdict_report,
)


@dataclass(frozen=True, slots=True)
class Change:
    """A report's outcome: the session after it and the events it emits, in order."""

    session: Session
    events: list[Event]


def new_session(
    *,
    session_id: str,
    account_id: str,
    api_key_id: str,
    model: str,
    at: datetime,
    external_id: str | None = None,
    external_tracker: str | None = None,
    tenant_metadata: Mapping[str, Any] | None = None,
    callback_url: str | None = None,
    callback_format: str = payloads.DEFAULT_PAYLOAD_FORMAT,
    callback_profile: str = profiles.DEFAULT_PROFILE,
    callback_retry_policy: str | list[int] | None = None,
) -> Session:
    """A session at its first stage; FieldError names a value it cannot have.

    `callback_url` must have passed the URL guard already (that check needs DNS)."""
    stage = lifecycle.INITIAL_STAGE
    return Session(
        id=session_id,
        account_id=account_id,
        api_key_id=api_key_id,
        model=check_model(model),
        external_id=check_label("external_id", external_id),
        external_tracker=check_label("external_tracker", external_tracker),
        tenant_metadata=check_tenant_metadata(tenant_metadata),
        callback_url=callback_url,
        callback_format=check_callback_format(callback_format),
        stage=stage,
        status=lifecycle.status_for(stage),
        trust_score=None,
        result=None,
        error=None,
        created_at=at,
        updated_at=at,
        ended_at=None,
        callback_profile=check_callback_profile(callback_profile, callback_format),
        callback_retry_policy=check_callback_retry_policy(callback_retry_policy),
    )


def _event(
    session: Session, event_id: str, stage: str, data: Mapping[str, Any], at: datetime
) -> Event:
    return Event(
        id=event_id,
        account_id=session.account_id,
        session_id=session.id,
        type=stage,
        data=data,
        created_at=at,
        model=session.model,
        external_tracker=session.external_tracker,
        session_created_at=session.created_at,
    )


def _moved(session: Session, stage: str, at: datetime, **changes: Any) -> Session:
    ended_at = at if lifecycle.is_ended(stage) else session.ended_at
    return replace(
        session,
        stage=stage,
        status=lifecycle.status_for(stage),
        updated_at=at,
        ended_at=ended_at,
        **changes,
    )


def initialized(session: Session, *, event_id: str) -> Event:
    """The `verification.initialized` event of a new session."""
    data = payloads.stage_data(
        stage=session.stage,
        external_id=session.external_id,
        external_tracker=session.external_tracker,
    )
    return _event(session, event_id, session.stage, data, session.created_at)


def report_stage(
    session: Session, stage: str, *, trust_score: float | None, event_id: str, at: datetime
) -> Change:
    """A plain stage report; TransitionError if `stage` cannot follow the current one."""
    check_stage(stage)
    score = session.trust_score if trust_score is None else check_trust_score(trust_score)
    lifecycle.check_transition(session.stage, stage)
    data = payloads.stage_data(
        stage=stage,
        external_id=session.external_id,
        external_tracker=session.external_tracker,
        trust_score=score,
    )
    moved = _moved(session, stage, at, trust_score=score)
    return Change(moved, [_event(session, event_id, stage, data, at)])


def report_verdict(
    session: Session, verdict: Verdict, *, event_ids: Sequence[str], at: datetime
) -> Change:
    """The verdict report: the liveness stages it implies, then `verification.completed`.

    `event_ids` are used in order, one per event: MAX_EVENTS_PER_REPORT ids always suffice."""
    check_verdict_report(session.model, verdict)
    stages = lifecycle.stages_for_verdict(
        session.stage, verdict.verdict, face_collision=verdict.face_collision
    )
    if len(event_ids) < len(stages):
        raise ValueError(f"{len(stages)} event ids are needed, got {len(event_ids)}")
    result = payloads.verdict_data(
        verdict=verdict.verdict,
        real_score=verdict.real_score,
        confidence=verdict.confidence,
        model=session.model,
        input_source=verdict.input_source,
        processing_ms=verdict.processing_ms,
        frames_processed=verdict.frames_processed,
        created_at=at,
        tenant_metadata=session.tenant_metadata,
        warning=verdict.warning,
    )
    tracking: dict[str, Any] = {
        "external_id": session.external_id,
        "external_tracker": session.external_tracker,
        "trust_score": session.trust_score,
    }
    events = []
    for stage, event_id in zip(stages, event_ids, strict=False):
        data: Mapping[str, Any]
        if stage == VERIFICATION_COMPLETED:
            data = result
        elif stage in (LIVENESS_PASSED, LIVENESS_FAILED):
            data = payloads.liveness_data(
                verdict=verdict.verdict, real_score=verdict.real_score, **tracking
            )
        else:
            data = payloads.stage_data(stage=stage, **tracking)
        events.append(_event(session, event_id, stage, data, at))
    return Change(_moved(session, VERIFICATION_COMPLETED, at, result=result), events)


def report_failure(
    session: Session, code: str, message: str, *, event_id: str, at: datetime
) -> Change:
    """The failure report: `verification.failed` with the error and the stage it happened at."""
    check_failure(code, message)
    lifecycle.stages_for_failure(session.stage)
    error = payloads.failure_data(
        code,
        message,
        last_stage=session.stage,
        model=session.model,
        external_id=session.external_id,
        external_tracker=session.external_tracker,
    )
    moved = _moved(session, VERIFICATION_FAILED, at, error=error)
    return Change(moved, [_event(session, event_id, VERIFICATION_FAILED, error, at)])
