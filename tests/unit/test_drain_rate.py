"""The worker's own drain rate, on a hand-driven monotonic clock, and the waiting budget it sets:
a worker claims only what it starts within half the hold at the rate it really answers."""

from __future__ import annotations

import pytest

from livehook.delivery.drain_rate import WINDOW_S, DrainRate, waiting_budget


def answer(rate: DrainRate, count: int) -> None:
    for _ in range(count):
        rate.answered()


def test_the_rate_is_unknown_until_a_window_has_passed_then_follows_the_answers() -> None:
    rate = DrainRate(0.0)
    answer(rate, 100)
    rate.update(WINDOW_S / 2)
    assert rate.per_s is None
    rate.update(1.0)
    assert rate.per_s == pytest.approx(100.0)
    answer(rate, 300)  # three times as fast: the average moves halfway there
    rate.update(2.0)
    assert rate.per_s == pytest.approx(200.0)
    rate.update(3.0)  # a second without answers
    assert rate.per_s == pytest.approx(100.0)


def test_the_budget_is_half_the_hold_at_the_rate_within_a_floor_and_a_ceiling() -> None:
    assert waiting_budget(None, 2.0, floor=500, ceiling=5000) == 5000  # not measured: as before
    assert waiting_budget(2000.0, 2.0, floor=500, ceiling=5000) == 2000
    assert waiting_budget(10.0, 2.0, floor=500, ceiling=5000) == 500  # never under a batch
    assert waiting_budget(50_000.0, 2.0, floor=500, ceiling=5000) == 5000
