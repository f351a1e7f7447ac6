"""Funnel arithmetic: counts per stage to conversion and drop-offs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livehook.domain.catalog import DROP_OFF_STAGES, FUNNEL_STAGES, SESSION_EVENT_TYPES
from livehook.domain.funnel import OTHER_STAGES, build_funnel, conversion


def test_stage_groups_partition_the_session_events() -> None:
    groups = [*FUNNEL_STAGES, *DROP_OFF_STAGES, *OTHER_STAGES]
    assert sorted(groups) == sorted(SESSION_EVENT_TYPES)
    assert OTHER_STAGES == ("account.created", "verification.failed")


def test_conversion_is_relative_to_initialized_and_rounded() -> None:
    funnel = build_funnel(
        {
            "verification.initialized": 3,
            "verification.started": 2,
            "liveness.started": 1,
            "liveness.cancelled": 1,
        }
    )
    assert funnel.initialized == 3
    assert [(s.stage, s.step, s.sessions, s.conversion) for s in funnel.stages] == [
        ("verification.initialized", 1, 3, 1.0),
        ("verification.started", 2, 2, 0.6667),
        ("consent.granted", 3, 0, 0.0),
        ("liveness.started", 4, 1, 0.3333),
        ("liveness.passed", 5, 0, 0.0),
        ("verification.completed", 6, 0, 0.0),
    ]
    assert [(s.stage, s.sessions, s.conversion) for s in funnel.drop_offs] == [
        ("liveness.failed", 0, 0.0),
        ("liveness.cancelled", 1, 0.3333),
        ("face.collision", 0, 0.0),
    ]


def test_an_empty_funnel_has_zero_conversion_not_a_division_error() -> None:
    funnel = build_funnel({})
    assert funnel.initialized == 0
    assert all(s.sessions == 0 and s.conversion == 0.0 for s in funnel.stages)
    assert conversion(0, 0) == 0.0


def test_non_session_types_and_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match=r"webhook\.disabled"):
        build_funnel({"webhook.disabled": 1})
    with pytest.raises(ValueError, match="negative"):
        conversion(-1, 3)


@given(st.integers(0, 10**9), st.integers(1, 10**9))
def test_conversion_is_the_rounded_ratio(reached: int, initialized: int) -> None:
    assert conversion(reached, initialized) == round(reached / initialized, 4)
