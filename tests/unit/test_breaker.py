"""The circuit breaker: opens after failures in a row, pauses longer each trip, probes, closes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from livehook.domain.breaker import Breaker, BreakerPolicy

T0 = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)
POLICY = BreakerPolicy(failure_threshold=3, base_pause_s=5, max_pause_s=20)


def fail(breaker: Breaker, times: int, at: datetime = T0) -> Breaker:
    for _ in range(times):
        breaker = breaker.after_failure(at, POLICY)
    return breaker


def test_stays_closed_below_the_threshold() -> None:
    breaker = fail(Breaker(), 2)
    assert breaker.state(T0) == "closed" and breaker.consecutive_failures == 2


def test_opens_at_the_threshold_for_the_base_pause() -> None:
    breaker = fail(Breaker(), 3)
    assert breaker.state(T0) == "open"
    assert breaker.open_until == T0 + timedelta(seconds=5)
    assert breaker.state(T0 + timedelta(seconds=5)) == "half_open"


def test_failures_while_open_do_not_stretch_the_pause() -> None:
    breaker = fail(fail(Breaker(), 3), 4, T0 + timedelta(seconds=1))
    assert breaker.open_until == T0 + timedelta(seconds=5) and breaker.trips == 1


def test_a_failed_probe_reopens_for_twice_as_long_up_to_the_maximum() -> None:
    breaker = fail(Breaker(), 3)
    probe_at = T0 + timedelta(seconds=5)
    breaker = breaker.after_failure(probe_at, POLICY)
    assert breaker.open_until == probe_at + timedelta(seconds=10)
    for _ in range(3):
        assert breaker.open_until is not None
        probe_at = breaker.open_until
        breaker = breaker.after_failure(probe_at, POLICY)
    assert breaker.open_until == probe_at + timedelta(seconds=20)


def test_a_success_closes_and_forgets() -> None:
    assert fail(Breaker(), 3).after_success() == Breaker()


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        BreakerPolicy(failure_threshold=0)
    with pytest.raises(ValueError):
        BreakerPolicy(base_pause_s=10, max_pause_s=5)
