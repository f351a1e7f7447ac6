"""The session state machine: transitions, composite reports, statuses."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livehook.domain.catalog import SESSION_EVENT_TYPES
from livehook.domain.lifecycle import (
    INITIAL_STAGE,
    REPORTABLE_STAGES,
    STAGES,
    TRANSITIONS,
    TransitionError,
    can_follow,
    check_transition,
    is_ended,
    next_stages,
    stages_for_failure,
    stages_for_verdict,
    status_for,
)

ENDED = {"verification.completed", "verification.failed"}
LIVENESS_OUTCOMES = {"liveness.passed", "liveness.failed", "liveness.cancelled"}
ALL_PAIRS = list(itertools.product(STAGES, STAGES))


def test_stages_are_the_session_event_types_starting_at_initialized() -> None:
    assert set(STAGES) == set(SESSION_EVENT_TYPES)
    assert INITIAL_STAGE == "verification.initialized"


@pytest.mark.parametrize(("current", "nxt"), ALL_PAIRS)
def test_every_pair_follows_the_table(current: str, nxt: str) -> None:
    allowed = nxt in TRANSITIONS[current]
    assert can_follow(current, nxt) is allowed
    if allowed:
        check_transition(current, nxt)
    else:
        with pytest.raises(TransitionError, match=f"^{nxt} cannot follow {current}"):
            check_transition(current, nxt)


@pytest.mark.parametrize(
    ("current", "nxt", "allowed"),
    [
        ("verification.initialized", "verification.started", True),
        ("verification.initialized", "liveness.started", True),  # optional steps skipped
        ("verification.started", "consent.granted", True),  # account.created is optional
        ("account.created", "consent.granted", True),
        ("consent.granted", "account.created", False),  # forward only
        ("liveness.started", "liveness.passed", True),
        ("liveness.started", "liveness.cancelled", True),
        ("consent.granted", "liveness.passed", False),  # outcomes need liveness.started
        ("verification.initialized", "liveness.cancelled", False),
        ("liveness.passed", "liveness.failed", False),  # one outcome per session
        ("liveness.passed", "face.collision", True),
        ("liveness.started", "face.collision", False),  # uniqueness is checked on a live face
        ("face.collision", "verification.completed", True),
        ("liveness.cancelled", "verification.completed", False),  # no verdict exists
        ("liveness.cancelled", "verification.failed", True),
        ("verification.initialized", "verification.completed", False),  # use the verdict report
        ("liveness.started", "liveness.started", False),  # no repeats
        ("verification.completed", "verification.failed", False),  # ended
        ("verification.failed", "verification.initialized", False),
    ],
)
def test_key_transitions(current: str, nxt: str, allowed: bool) -> None:
    assert can_follow(current, nxt) is allowed


def test_no_stage_can_be_reached_twice() -> None:
    """Forward only: no path through the table comes back to a stage."""

    def visit(stage: str, path: tuple[str, ...]) -> None:
        for nxt in next_stages(stage):
            assert nxt not in path, f"cycle {(*path, nxt)}"
            visit(nxt, (*path, nxt))

    visit(INITIAL_STAGE, (INITIAL_STAGE,))


def test_every_stage_is_reachable_from_the_initial_stage() -> None:
    seen, pending = {INITIAL_STAGE}, [INITIAL_STAGE]
    while pending:
        for nxt in next_stages(pending.pop()):
            if nxt not in seen:
                seen.add(nxt)
                pending.append(nxt)
    assert seen == set(STAGES)


def test_failure_may_follow_every_stage_that_has_not_ended() -> None:
    for stage in STAGES:
        assert can_follow(stage, "verification.failed") is (stage not in ENDED)


def test_only_completed_and_failed_end_a_session() -> None:
    assert {stage for stage in STAGES if is_ended(stage)} == ENDED
    assert next_stages("verification.completed") == frozenset()


def test_liveness_outcomes_only_follow_liveness_started() -> None:
    for outcome in LIVENESS_OUTCOMES:
        assert {s for s in STAGES if can_follow(s, outcome)} == {"liveness.started"}


def test_transition_error_names_the_current_state_and_what_could_follow() -> None:
    with pytest.raises(TransitionError) as caught:
        check_transition("consent.granted", "liveness.passed")
    assert str(caught.value) == (
        "liveness.passed cannot follow consent.granted; could follow: "
        "liveness.started, verification.failed"
    )
    assert caught.value.current == "consent.granted"
    assert caught.value.attempted == "liveness.passed"
    assert isinstance(caught.value, ValueError)


def test_transition_error_after_the_end_says_the_session_has_ended() -> None:
    with pytest.raises(TransitionError, match="the session has ended, nothing can follow"):
        check_transition("verification.completed", "verification.failed")


def test_unknown_stages_are_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown stage 'verification\.done'"):
        next_stages("verification.done")
    assert can_follow("verification.started", "webhook.disabled") is False


@pytest.mark.parametrize(
    ("current", "verdict", "stages"),
    [
        (
            "verification.initialized",
            "live",
            ["liveness.started", "liveness.passed", "verification.completed"],
        ),
        (
            "consent.granted",
            "fake",
            ["liveness.started", "liveness.failed", "verification.completed"],
        ),
        ("liveness.started", "live", ["liveness.passed", "verification.completed"]),
        ("liveness.started", "fake", ["liveness.failed", "verification.completed"]),
        ("liveness.passed", "live", ["verification.completed"]),
        ("liveness.failed", "fake", ["verification.completed"]),
        ("face.collision", "live", ["verification.completed"]),
    ],
)
def test_verdict_report_emits_what_the_verdict_implies_then_completed(
    current: str, verdict: str, stages: list[str]
) -> None:
    assert stages_for_verdict(current, verdict) == stages


@pytest.mark.parametrize(
    ("current", "verdict", "message"),
    [
        ("liveness.passed", "fake", "liveness.failed cannot follow liveness.passed"),
        ("liveness.failed", "live", "liveness.passed cannot follow liveness.failed"),
        ("face.collision", "fake", "liveness.failed cannot follow face.collision"),
        ("liveness.cancelled", "live", "liveness.passed cannot follow liveness.cancelled"),
        ("verification.completed", "live", "session has ended"),
        ("verification.failed", "fake", "session has ended"),
    ],
)
def test_verdict_report_is_refused_when_it_contradicts_or_the_session_ended(
    current: str, verdict: str, message: str
) -> None:
    with pytest.raises(TransitionError, match=message):
        stages_for_verdict(current, verdict)


def test_verdict_report_refuses_unknown_verdicts() -> None:
    with pytest.raises(ValueError, match="verdict must be one of"):
        stages_for_verdict("liveness.started", "maybe")


@pytest.mark.parametrize("current", sorted(set(TRANSITIONS) - ENDED))
def test_failure_report_emits_failed_from_any_open_stage(current: str) -> None:
    assert stages_for_failure(current) == ["verification.failed"]


@pytest.mark.parametrize("current", sorted(ENDED))
def test_failure_report_is_refused_after_the_end(current: str) -> None:
    with pytest.raises(TransitionError, match="the session has ended"):
        stages_for_failure(current)


def test_status_for_every_stage() -> None:
    assert {stage: status_for(stage) for stage in STAGES} == {
        "verification.initialized": "pending",
        "verification.started": "in_progress",
        "account.created": "in_progress",
        "consent.granted": "in_progress",
        "liveness.started": "in_progress",
        "liveness.passed": "in_progress",
        "liveness.failed": "in_progress",
        "liveness.cancelled": "cancelled",
        "face.collision": "in_progress",
        "verification.completed": "completed",
        "verification.failed": "failed",
    }


def test_plain_stage_reports_exclude_stages_that_need_verdict_or_error_data() -> None:
    assert {
        "verification.started",
        "account.created",
        "consent.granted",
        "liveness.started",
        "liveness.cancelled",
        "face.collision",
    } == REPORTABLE_STAGES


@given(st.lists(st.integers(min_value=0, max_value=10), max_size=12))
def test_random_walks_through_the_table_stay_valid_and_end_reports_close_them(
    choices: list[int],
) -> None:
    stage, seen = INITIAL_STAGE, [INITIAL_STAGE]
    for choice in choices:
        options = sorted(next_stages(stage))
        if not options:
            break
        stage = options[choice % len(options)]
        assert stage not in seen
        seen.append(stage)
    if not is_ended(stage):
        assert stages_for_failure(stage)[-1] == "verification.failed"
        for verdict in ("live", "fake"):
            try:
                emitted = stages_for_verdict(stage, verdict)
            except TransitionError:
                continue
            previous = stage
            for nxt in emitted:
                assert can_follow(previous, nxt)
                previous = nxt
            assert emitted[-1] == "verification.completed"
