"""Per-endpoint limits: adaptive caps, short waiting lines, releases sized to the pace."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from livehook.delivery.limits import FAST_ANSWER_S, SLOW_ANSWER_S, EndpointLimits, Limits
from livehook.domain.breaker import BreakerPolicy

T0 = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Item:
    delivery_id: str


def limits(**options: object) -> EndpointLimits[Item]:
    return EndpointLimits(Limits(**options))  # type: ignore[arg-type]


def test_sends_up_to_the_cap_then_queues_what_starts_within_the_hold_then_releases() -> None:
    book = limits(per_endpoint=2, hold_max_s=0.25)
    verdicts = [book.admit("a", Item(f"d{i}"), T0, 0.0)[0] for i in range(8)]
    # An endpoint not heard from yet is assumed to take 0.1 s: with two slots, five more start
    # within the 0.25 s hold; the next goes back to the queue.
    assert verdicts == ["send"] * 2 + ["wait"] * 5 + ["release"]


def test_a_slow_endpoint_gets_a_shorter_line() -> None:
    book = limits(per_endpoint=2, hold_max_s=0.25)
    book.admit("a", Item("d0"), T0, 0.0)
    book.finish("a", "d0", True, T0, 1.0)  # took a second: the pace moves toward it
    verdicts = [book.admit("a", Item(f"d{i}"), T0, 1.0)[0] for i in range(1, 5)]
    assert verdicts == ["send", "send", "wait", "release"]


def test_one_endpoint_at_its_cap_leaves_others_untouched() -> None:
    book = limits(per_endpoint=1, hold_max_s=0.05)
    assert book.admit("slow", Item("s1"), T0, 0.0)[0] == "send"
    assert book.admit("slow", Item("s2"), T0, 0.0)[0] == "release"
    assert book.admit("fast", Item("f1"), T0, 0.0)[0] == "send"


def test_release_time_follows_the_endpoint_pace_within_bounds() -> None:
    book = limits(per_endpoint=1, hold_max_s=0.05)
    book.admit("a", Item("d1"), T0, 0.0)
    assert book.admit("a", Item("d2"), T0, 0.0) == ("release", T0 + timedelta(seconds=1))
    # d1 has been in flight for 30 s: the next slot is at least that far away.
    assert book.admit("a", Item("d3"), T0, 30.0) == ("release", T0 + timedelta(seconds=30))
    assert book.admit("a", Item("d4"), T0, 500.0) == ("release", T0 + timedelta(seconds=60))


def test_a_finished_slot_goes_to_the_next_in_line() -> None:
    book = limits(per_endpoint=1, hold_max_s=5.0)
    book.admit("a", Item("d1"), T0, 0.0)
    assert book.admit("a", Item("d2"), T0, 0.0)[0] == "wait"
    book.finish("a", "d1", True, T0, 0.01)
    assert book.next_waiting("a", T0, 0.01) == Item("d2")
    assert book.next_waiting("a", T0, 0.01) is None


def test_waiting_rows_are_released_once_the_endpoint_slows_down() -> None:
    book = limits(per_endpoint=1, hold_max_s=2.0)
    book.admit("a", Item("d1"), T0, 0.0)
    book.admit("a", Item("d2"), T0, 0.0)
    assert book.overdue(T0, 0.5) == []
    released = book.overdue(T0, 3.0)  # d1 has been in flight for 3 s
    assert [item for item, _ in released] == [Item("d2")]
    assert book.waiting_count == 0


def test_an_open_breaker_releases_rows_until_it_half_opens_then_allows_one_probe() -> None:
    policy = BreakerPolicy(failure_threshold=1, base_pause_s=5, max_pause_s=5)
    book = limits(per_endpoint=3, breaker=policy)
    book.admit("a", Item("d1"), T0, 0.0)
    opened = book.finish("a", "d1", False, T0, 0.1)
    assert opened == T0 + timedelta(seconds=5)
    assert book.admit("a", Item("d2"), T0, 0.2) == ("release", opened)
    later = T0 + timedelta(seconds=5)
    assert book.admit("a", Item("d3"), later, 6.0)[0] == "send"
    assert book.admit("a", Item("d4"), later, 6.0)[0] != "send"  # one probe at a time
    assert book.finish("a", "d3", True, later, 6.1) is None


def test_drain_hands_back_every_waiting_row() -> None:
    book = limits(per_endpoint=1)
    book.admit("a", Item("d1"), T0, 0.0)
    book.admit("a", Item("d2"), T0, 0.0)
    assert book.drain_waiting() == [Item("d2")]


class Busy:
    """Endpoint "a" of ``book`` kept at its cap with a row waiting, answering one at a time."""

    def __init__(self, book: EndpointLimits[Item]) -> None:
        self.book = book
        self._ids = itertools.count()
        self._in_flight: list[Item] = []

    def answer(
        self, n: int, *, ok: bool = True, took: float = 0.01, answer_s: float | None = None
    ) -> None:
        """``took``: since the slot was taken; ``answer_s``: the request's own duration."""
        for _ in range(n):
            while self.book.admit("a", item := Item(f"d{next(self._ids)}"), T0, 0.0)[0] == "send":
                self._in_flight.append(item)
            delivery_id = self._in_flight.pop(0).delivery_id
            self.book.finish("a", delivery_id, ok, T0, took, answer_s=answer_s)
            self.book.drain_waiting()


def test_a_fast_healthy_endpoint_with_rows_waiting_earns_one_more_slot_per_answer() -> None:
    book = limits(per_endpoint=2, max_per_endpoint=5, hold_max_s=60.0)
    Busy(book).answer(2)
    assert book.cap_of("a") == 4
    Busy(book).answer(10)
    assert book.cap_of("a") == 5  # never past the maximum


def test_an_idle_endpoint_does_not_earn_slots_it_was_not_asked_for() -> None:
    book = limits(per_endpoint=2, max_per_endpoint=50)
    for i in range(10):
        book.admit("a", Item(f"d{i}"), T0, 0.0)
        book.finish("a", f"d{i}", True, T0, 0.01)
    assert book.cap_of("a") == 2


def test_a_failure_or_a_very_slow_answer_halves_the_cap_never_below_the_start() -> None:
    book = limits(per_endpoint=2, max_per_endpoint=64, hold_max_s=60.0)
    busy = Busy(book)
    busy.answer(30)
    assert book.cap_of("a") == 32
    busy.answer(1, ok=False)
    assert book.cap_of("a") == 16
    busy.answer(3, ok=False)  # 16, 8, 4, 2: a fifth failure in a row would open the breaker
    assert book.cap_of("a") == 2
    busy.answer(10)
    assert book.cap_of("a") == 12
    busy.answer(1, took=SLOW_ANSWER_S + 0.5)  # a 2xx, but after longer than SLOW_ANSWER_S
    assert book.cap_of("a") == 6
    busy.answer(5, took=2.0)
    assert book.cap_of("a") == 2


def test_slow_answers_stop_the_growth_without_taking_slots_away() -> None:
    book = limits(per_endpoint=2, max_per_endpoint=64, hold_max_s=60.0)
    busy = Busy(book)
    busy.answer(20)
    assert book.cap_of("a") == 22
    # Slower than FAST_ANSWER_S (as when the worker's own loop is busy), not failing: once the
    # moving average crosses it (the second such answer), the cap stays where it is.
    slow = (FAST_ANSWER_S + SLOW_ANSWER_S) / 2
    busy.answer(2, took=slow)
    held = book.cap_of("a")
    assert held >= 22
    busy.answer(20, took=slow)
    assert book.cap_of("a") == held
    busy.answer(10)  # fast again: the average falls back under FAST_ANSWER_S and growth resumes
    assert book.cap_of("a") > held


def test_the_wait_before_the_request_went_out_is_not_the_endpoints_answer_time() -> None:
    book = limits(per_endpoint=2, max_per_endpoint=64, hold_max_s=60.0)
    busy = Busy(book)
    busy.answer(20)
    # Each slot was taken 3 s before its answer, but the request itself took 10 ms: the loop was
    # busy before the send, the endpoint is fast and keeps earning slots.
    busy.answer(5, took=3.0, answer_s=0.01)
    assert book.cap_of("a") == 27
    busy.answer(1, took=0.02, answer_s=SLOW_ANSWER_S + 0.5)  # the request itself was slow
    assert book.cap_of("a") == 13


def test_the_cap_cannot_start_above_its_maximum() -> None:
    with pytest.raises(ValueError, match="max_per_endpoint"):
        Limits(per_endpoint=20, max_per_endpoint=10)
