"""Scores and confidence bands."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from livehook.domain.verdicts import (
    CONFIDENCE_BAND_NAMES,
    check_verdict,
    confidence_band,
    score_from_real_score,
)


@pytest.mark.parametrize(
    ("real_score", "score"),
    [(0.94, 94.0), (0.0, 0.0), (1.0, 100.0), (0.123456, 12.35), (0.5, 50.0), (1, 100.0)],
)
def test_score_is_real_score_times_100_rounded_to_two_places(
    real_score: float, score: float
) -> None:
    assert score_from_real_score(real_score) == score


@pytest.mark.parametrize(
    ("confidence", "band"),
    [
        (1.0, "VERY HIGH"),
        (0.94, "VERY HIGH"),  # the source documents' example
        (0.9, "VERY HIGH"),
        (0.8999, "HIGH"),
        (0.75, "HIGH"),
        (0.7499, "MEDIUM"),
        (0.5, "MEDIUM"),
        (0.4999, "LOW"),
        (0.25, "LOW"),
        (0.2499, "VERY LOW"),
        (0.0, "VERY LOW"),
    ],
)
def test_confidence_band_boundaries_are_inclusive_lower_bounds(
    confidence: float, band: str
) -> None:
    assert confidence_band(confidence) == band


@pytest.mark.parametrize("bad", [-0.01, 1.01, math.nan, math.inf, -math.inf, True, "0.9"])
def test_scores_and_confidences_outside_0_1_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="must be a number in"):
        confidence_band(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="real_score must be a number in"):
        score_from_real_score(bad)  # type: ignore[arg-type]


def test_verdict_must_be_live_or_fake() -> None:
    assert check_verdict("live") == "live"
    assert check_verdict("fake") == "fake"
    with pytest.raises(ValueError, match="verdict must be one of live, fake, got 'LIVE'"):
        check_verdict("LIVE")


@given(st.floats(0, 1), st.floats(0, 1))
def test_higher_confidence_never_gets_a_lower_band(a: float, b: float) -> None:
    low, high = sorted((a, b))
    rank = CONFIDENCE_BAND_NAMES.index
    assert rank(confidence_band(high)) <= rank(confidence_band(low))


@given(st.floats(0, 1))
def test_score_stays_within_0_100(real_score: float) -> None:
    assert 0.0 <= score_from_real_score(real_score) <= 100.0
