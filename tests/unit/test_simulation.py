from __future__ import annotations

import pytest

from livehook.domain import lifecycle
from livehook.domain.catalog import SESSION_EVENT_TYPES
from livehook.domain.simulation import TRIGGERABLE, plan_for


def _emitted(event_type: str) -> list[str]:
    """The events a plan emits, replayed through the lifecycle rules."""
    current, emitted = lifecycle.INITIAL_STAGE, [lifecycle.INITIAL_STAGE]
    for report in plan_for(event_type):
        if report.kind == "stage":
            assert report.stage is not None
            lifecycle.check_transition(current, report.stage)
            stages = [report.stage]
        elif report.kind == "result":
            stages = lifecycle.stages_for_verdict(
                current, report.verdict, face_collision=report.face_collision
            )
        else:
            stages = lifecycle.stages_for_failure(current)
        emitted += stages
        current = stages[-1]
    return emitted


@pytest.mark.parametrize("event_type", TRIGGERABLE)
def test_every_plan_is_a_legal_path_that_emits_its_event(event_type: str) -> None:
    assert event_type in _emitted(event_type)


def test_every_session_event_can_be_triggered() -> None:
    assert set(TRIGGERABLE) == set(SESSION_EVENT_TYPES)


def test_operational_events_cannot_be_triggered() -> None:
    with pytest.raises(ValueError, match="cannot trigger"):
        plan_for("webhook.disabled")
