"""Reports to sessions and events: values checked, events built, state moved (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from livehook.domain import reports
from livehook.domain.lifecycle import TransitionError
from livehook.domain.sessions import (
    MAX_TENANT_METADATA_BYTES,
    Event,
    FieldError,
    Session,
    Verdict,
    stages_reached,
)

AT = datetime(2026, 2, 10, 15, 26, 42, 123456, tzinfo=UTC)
LATER = AT + timedelta(seconds=30)
SESSION_ID = "01950000-0000-7000-8000-000000000001"
VERDICT = Verdict("live", 0.94, 0.94, "rest_frames", 845, 30)


def new(**fields: Any) -> Session:
    values: dict[str, Any] = {
        "session_id": SESSION_ID,
        "account_id": "acct_1",
        "api_key_id": "key_1",
        "model": "mixed-30-v2",
        "at": AT,
        "external_id": "user_123",
        "external_tracker": "spring",
    }
    return reports.new_session(**(values | fields))


def test_new_session_starts_pending_and_its_event_copies_the_funnel_columns() -> None:
    session = new()
    assert (session.stage, session.status, session.ended_at) == (
        "verification.initialized",
        "pending",
        None,
    )
    event = reports.initialized(session, event_id="evt_1")
    assert (event.type, event.session_id, event.created_at) == (
        "verification.initialized",
        SESSION_ID,
        AT,
    )
    assert (event.model, event.external_tracker, event.session_created_at) == (
        "mixed-30-v2",
        "spring",
        AT,
    )
    assert event.data == {
        "stage": "verification.initialized",
        "step": 1,
        "external_id": "user_123",
        "external_tracker": "spring",
        "trust_score": None,
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"model": "mixed-31-v2"}, "model"),
        ({"tenant_metadata": [1]}, "tenant_metadata"),
        ({"tenant_metadata": {"x": "y" * MAX_TENANT_METADATA_BYTES}}, "tenant_metadata"),
        ({"tenant_metadata": {"when": AT}}, "tenant_metadata"),
        ({"external_id": ""}, "external_id"),
        ({"external_tracker": "t" * 256}, "external_tracker"),
        ({"callback_format": "xml"}, "callback_format"),
    ],
)
def test_new_session_names_the_field_it_refuses(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(FieldError) as caught:
        new(**fields)
    assert caught.value.field == field


def test_metadata_at_the_size_limit_is_accepted() -> None:
    blob = "y" * (MAX_TENANT_METADATA_BYTES - len('{"x":""}'))
    assert new(tenant_metadata={"x": blob}).tenant_metadata == {"x": blob}


def test_stage_report_moves_the_session_and_keeps_the_running_trust_score() -> None:
    started = reports.report_stage(
        new(), "verification.started", trust_score=0.4, event_id="evt_2", at=LATER
    )
    assert (started.session.stage, started.session.status) == (
        "verification.started",
        "in_progress",
    )
    assert started.session.updated_at == LATER and started.session.trust_score == 0.4
    consent = reports.report_stage(
        started.session, "consent.granted", trust_score=None, event_id="evt_3", at=LATER
    )
    assert consent.events[0].data["trust_score"] == 0.4


@pytest.mark.parametrize(
    ("stage", "field"),
    [("liveness.passed", "stage"), ("verification.completed", "stage"), ("nope", "stage")],
)
def test_stage_report_refuses_stages_it_cannot_carry(stage: str, field: str) -> None:
    with pytest.raises(FieldError) as caught:
        reports.report_stage(new(), stage, trust_score=None, event_id="evt_2", at=LATER)
    assert caught.value.field == field


def test_stage_report_that_cannot_follow_raises_transition_error() -> None:
    with pytest.raises(TransitionError, match=r"cannot follow verification\.initialized"):
        reports.report_stage(new(), "liveness.cancelled", trust_score=None, event_id="e", at=AT)


def test_verdict_from_the_start_emits_three_events_with_the_result_last() -> None:
    change = reports.report_verdict(
        new(tenant_metadata={"plan": "pro"}),
        VERDICT,
        event_ids=["evt_a", "evt_b", "evt_c"],
        at=LATER,
    )
    assert [(e.id, e.type) for e in change.events] == [
        ("evt_a", "liveness.started"),
        ("evt_b", "liveness.passed"),
        ("evt_c", "verification.completed"),
    ]
    assert change.events[1].data["verdict"] == "live" and change.events[1].data["score"] == 94.0
    result = change.events[2].data
    assert result == change.session.result
    assert (result["type"], result["tenant_metadata"], result["created_at"]) == (
        "VERY HIGH",
        {"plan": "pro"},
        "2026-02-10T15:27:12.123456Z",
    )
    assert (change.session.status, change.session.ended_at) == ("completed", LATER)


@pytest.mark.parametrize(
    ("verdict", "field"),
    [
        (replace(VERDICT, frames_processed=31), "frames_processed"),
        (replace(VERDICT, frames_processed=-1), "frames_processed"),
        (replace(VERDICT, verdict="maybe"), "verdict"),
        (replace(VERDICT, real_score=1.5), "real_score"),
        (replace(VERDICT, confidence=float("nan")), "confidence"),
        (replace(VERDICT, processing_ms=-5), "processing_ms"),
    ],
)
def test_verdict_report_names_the_field_it_refuses(verdict: Verdict, field: str) -> None:
    with pytest.raises(FieldError) as caught:
        reports.report_verdict(new(), verdict, event_ids=["a", "b", "c"], at=LATER)
    assert caught.value.field == field


def test_verdict_report_needs_an_id_per_event() -> None:
    with pytest.raises(ValueError, match="3 event ids"):
        reports.report_verdict(new(), VERDICT, event_ids=["evt_a"], at=LATER)


def test_failure_records_the_stage_it_happened_at() -> None:
    change = reports.report_failure(
        new(), "video_pipeline_error", "could not decode", event_id="evt_f", at=LATER
    )
    assert change.session.error == change.events[0].data
    assert change.events[0].data["last_stage"] == "verification.initialized"
    assert (change.session.status, change.session.result) == ("failed", None)


@pytest.mark.parametrize(
    ("code", "message", "field"),
    [("has space", "m", "code"), ("ok", "", "message"), ("ok", "m" * 1001, "message")],
)
def test_failure_names_the_field_it_refuses(code: str, message: str, field: str) -> None:
    with pytest.raises(FieldError) as caught:
        reports.report_failure(new(), code, message, event_id="evt_f", at=LATER)
    assert caught.value.field == field


def test_stages_reached_follow_the_transition_order_even_at_one_instant() -> None:
    def event(type_: str, event_id: str) -> Event:
        return Event(event_id, "acct_1", SESSION_ID, type_, {}, LATER)

    shuffled = [
        event("verification.completed", "evt_1"),
        event("liveness.started", "evt_3"),
        event("liveness.passed", "evt_2"),
        replace(event("verification.initialized", "evt_0"), created_at=AT),
    ]
    assert [(s.stage, s.step) for s in stages_reached(shuffled)] == [
        ("verification.initialized", 1),
        ("liveness.started", 4),
        ("liveness.passed", 5),
        ("verification.completed", 6),
    ]
