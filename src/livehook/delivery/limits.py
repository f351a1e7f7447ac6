"""Per-endpoint limits of one worker: adaptive concurrency caps, short waiting lines, circuit
breakers.

An endpoint starts at ``per_endpoint`` requests in flight. While it answers 2xx quickly and rows
are waiting for it, its cap grows by one per answer (doubling per round trip, as TCP's slow
start) up to ``max_per_endpoint``: a fast receiver is not throttled to a fixed trickle. As TCP's
congestion control (AIMD), a slow answer only stops the growth, and a failure or a very slow
answer halves the cap (never below ``per_endpoint``): a struggling endpoint gets less, never
more, and soon holds only a few of the worker's slots. A slow answer alone does not shrink it:
under load the worker's own event loop delays every answer it reads, and taking that for a slow
endpoint once set a busy endpoint back to ``per_endpoint``, leaving it far more rows claimed
than it could then take within the hold (each released and claimed again, seconds later).

A claimed row for an endpoint goes out at once if the endpoint has a free slot; otherwise it
waits in the endpoint's line if it should start within ``hold_max_s`` at the endpoint's
observed pace, and is released back to the queue otherwise (due again about when a slot should
be free). So a slow endpoint holds at most a few seconds of work here, never the worker's slots,
and a fast one is not throttled by round trips to the database.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Generic, Literal, Protocol, TypeVar

from livehook.domain.breaker import Breaker, BreakerPolicy

# Latency assumed for an endpoint not heard from yet. Optimistic, so a burst to a new endpoint
# is not sent back to the queue; if it hangs instead, its requests in flight soon show it (the
# pace is never below their age) and its line is handed back within the hold.
INITIAL_LATENCY_S = 0.1
# Weight of the newest duration in the moving average: follows a change within a few requests.
LATENCY_SMOOTHING = 0.3
# A released row comes back no sooner than this (no churn) and no later (no starvation).
MIN_RELEASE_S = 1.0
MAX_RELEASE_S = 60.0
# An endpoint whose answers take longer than this on average does not earn a higher cap.
FAST_ANSWER_S = 0.25
# An answer taking longer than this counts as a failure for the cap (halves it): far above any
# delay of the worker's own loop, and half the default hold, so such an endpoint's line is short.
SLOW_ANSWER_S = 1.0
# Endpoints remembered (latency, breaker) once idle; beyond this the idle ones are forgotten.
MAX_REMEMBERED_ENDPOINTS = 10_000


class Job(Protocol):
    @property
    def delivery_id(self) -> str: ...


T = TypeVar("T", bound=Job)
Admission = Literal["send", "wait", "release"]


@dataclass(frozen=True, slots=True)
class Limits:
    per_endpoint: int = 10  # requests in flight to one endpoint from one worker, at first
    max_per_endpoint: int = 100  # the most a fast, healthy endpoint earns
    hold_max_s: float = 2.0  # the longest a claimed row waits here for its endpoint
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)

    def __post_init__(self) -> None:
        if self.per_endpoint < 1:
            raise ValueError("per_endpoint must be at least 1")
        if self.max_per_endpoint < self.per_endpoint:
            raise ValueError("max_per_endpoint must be at least per_endpoint")


@dataclass(slots=True)
class _Endpoint(Generic[T]):
    in_flight: dict[str, float] = field(default_factory=dict)  # delivery id -> monotonic start
    waiting: deque[tuple[T, float]] = field(default_factory=deque)  # (item, monotonic since)
    latency_s: float = INITIAL_LATENCY_S
    breaker: Breaker = field(default_factory=Breaker)
    cap: int = 0  # requests in flight allowed now; 0 until first used


class EndpointLimits(Generic[T]):
    """The book-keeping; the worker does the sending and the releasing."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._endpoints: dict[str, _Endpoint[T]] = {}
        self._waiting = 0  # items in every line: read after each answer, so kept, not summed

    def _get(self, key: str) -> _Endpoint[T]:
        endpoint = self._endpoints.get(key)
        if endpoint is None:
            endpoint = self._endpoints[key] = _Endpoint(cap=self._limits.per_endpoint)
        return endpoint

    def _cap(self, endpoint: _Endpoint[T], now: datetime) -> int:
        return 1 if endpoint.breaker.state(now) == "half_open" else endpoint.cap

    def cap_of(self, key: str) -> int:
        """Requests in flight ``key`` may have now (its breaker aside)."""
        return self._get(key).cap

    def _pace_s(self, endpoint: _Endpoint[T], mono: float) -> float:
        """Seconds a slot of ``endpoint`` takes now."""
        oldest = min(endpoint.in_flight.values(), default=mono)
        # A request running longer than usual is the first sign of an endpoint gone slow.
        return max(endpoint.latency_s, mono - oldest)

    def _expected_start_s(self, endpoint: _Endpoint[T], position: int, mono: float) -> float:
        return position / endpoint.cap * self._pace_s(endpoint, mono)

    def _adapt(self, endpoint: _Endpoint[T], succeeded: bool, answer_s: float) -> None:
        base, most = self._limits.per_endpoint, self._limits.max_per_endpoint
        if not succeeded or answer_s > SLOW_ANSWER_S:
            endpoint.cap = max(base, endpoint.cap // 2)
        elif endpoint.latency_s > FAST_ANSWER_S:
            pass  # slow on average: no more slots, but not fewer (the delay may be ours)
        elif endpoint.waiting:  # only demand earns more: an idle endpoint keeps what it has
            endpoint.cap = min(most, endpoint.cap + 1)

    def admit(
        self, key: str, item: T, now: datetime, mono: float
    ) -> tuple[Admission, datetime | None]:
        """Send now, wait in line, or release (with when the row should come due again)."""
        endpoint = self._get(key)
        if endpoint.breaker.state(now) == "open":
            return "release", endpoint.breaker.open_until
        if len(endpoint.in_flight) < self._cap(endpoint, now) and not endpoint.waiting:
            endpoint.in_flight[item.delivery_id] = mono
            return "send", None
        expected = self._expected_start_s(endpoint, len(endpoint.waiting) + 1, mono)
        if expected <= self._limits.hold_max_s:
            endpoint.waiting.append((item, mono))
            self._waiting += 1
            return "wait", None
        return "release", now + _release_delay(expected)

    def reset(self, key: str) -> None:
        """Forget ``key``'s failures (its `livehook listen` came back): the breaker closes."""
        endpoint = self._endpoints.get(key)
        if endpoint is not None:
            endpoint.breaker = Breaker()

    def finish(
        self,
        key: str,
        delivery_id: str,
        succeeded: bool,
        now: datetime,
        mono: float,
        answer_s: float | None = None,
    ) -> datetime | None:
        """Book an attempt's end; if it opened the endpoint's breaker, until when.
        ``answer_s``: the request's own duration, as the sender timed it; by default the time
        since the slot was taken (which also counts the wait for the loop to start the send)."""
        endpoint = self._get(key)
        started = endpoint.in_flight.pop(delivery_id, mono)
        duration = mono - started if answer_s is None else answer_s
        endpoint.latency_s += LATENCY_SMOOTHING * (duration - endpoint.latency_s)
        self._adapt(endpoint, succeeded, duration)
        before = endpoint.breaker
        if succeeded:
            endpoint.breaker = before.after_success()
        else:
            endpoint.breaker = before.after_failure(now, self._limits.breaker)
        after = endpoint.breaker
        return after.open_until if after.open_until != before.open_until else None

    def next_waiting(self, key: str, now: datetime, mono: float) -> T | None:
        """The next item of ``key``'s line that may start now (taking its slot), if any."""
        endpoint = self._get(key)
        if not endpoint.waiting or endpoint.breaker.state(now) == "open":
            return None
        if len(endpoint.in_flight) >= self._cap(endpoint, now):
            return None
        item, _ = endpoint.waiting.popleft()
        self._waiting -= 1
        endpoint.in_flight[item.delivery_id] = mono
        return item

    def overdue(self, now: datetime, mono: float) -> list[tuple[T, datetime]]:
        """Waiting items to release now (their endpoint slowed down or its breaker opened),
        each with when it should come due again."""
        released: list[tuple[T, datetime]] = []
        for endpoint in self._endpoints.values():
            if not endpoint.waiting:
                continue
            if endpoint.breaker.state(now) == "open" and endpoint.breaker.open_until:
                released.extend((item, endpoint.breaker.open_until) for item, _ in endpoint.waiting)
                endpoint.waiting.clear()
                continue
            # Once per endpoint, not per waiting item: a line can hold thousands.
            per_position = self._pace_s(endpoint, mono) / endpoint.cap
            keep: deque[tuple[T, float]] = deque()
            for position, (item, since) in enumerate(endpoint.waiting, start=1):
                expected = position * per_position
                if mono - since + expected > self._limits.hold_max_s:
                    released.append((item, now + _release_delay(expected)))
                else:
                    keep.append((item, since))
            endpoint.waiting = keep
        self._waiting = sum(len(e.waiting) for e in self._endpoints.values())
        return released

    def drain_waiting(self) -> list[T]:
        """Every waiting item (the worker is stopping: they go back to the queue)."""
        items = [item for endpoint in self._endpoints.values() for item, _ in endpoint.waiting]
        for endpoint in self._endpoints.values():
            endpoint.waiting.clear()
        self._waiting = 0
        return items

    def open_breakers(self, now: datetime) -> int:
        """Endpoints whose breaker is open now (paused: nothing is sent to them)."""
        return sum(e.breaker.state(now) == "open" for e in self._endpoints.values())

    @property
    def waiting_count(self) -> int:
        return self._waiting

    def forget_idle(self) -> None:
        """Past the memory bound, drop endpoints with nothing in flight or waiting and a
        closed breaker."""
        if len(self._endpoints) <= MAX_REMEMBERED_ENDPOINTS:
            return
        idle = [
            key
            for key, e in self._endpoints.items()
            if not e.in_flight and not e.waiting and e.breaker.open_until is None
        ]
        for key in idle:
            del self._endpoints[key]


def _release_delay(expected_s: float) -> timedelta:
    return timedelta(seconds=min(MAX_RELEASE_S, max(MIN_RELEASE_S, expected_s)))
