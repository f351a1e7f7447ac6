"""The circuit breaker of one endpoint: pause an endpoint that keeps failing, briefly.

``closed``: send freely. After ``failure_threshold`` failures in a row the breaker opens: the
endpoint gets nothing for a pause that doubles with each trip (5 s, 10 s, 20 s … up to 5 min),
so a dead endpoint stops tying up workers. When the pause ends the breaker is ``half_open``: one
request goes through as a probe; a success closes the breaker, a failure opens it again for
longer. Nothing is lost while it is open: the endpoint's deliveries wait, still pending.

Pure: the caller passes the time. Each worker keeps its own breakers (state in memory): a pause
is short, and sharing it through the database would add a write to every attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    failure_threshold: int = 5  # five failures in a row is a pattern, not a blip
    base_pause_s: float = 5.0  # the first pause: long enough to stop a hot loop of timeouts
    max_pause_s: float = 300.0  # retries per the policy still come; the pause only spaces them

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if not 0 < self.base_pause_s <= self.max_pause_s:
            raise ValueError("pauses must be positive, the base no longer than the maximum")

    def pause(self, trips: int) -> timedelta:
        """The pause of the ``trips``-th trip (1-based), doubling up to the maximum."""
        return timedelta(seconds=min(self.max_pause_s, self.base_pause_s * 2 ** (trips - 1)))


@dataclass(frozen=True, slots=True)
class Breaker:
    consecutive_failures: int = 0
    trips: int = 0  # trips since the last success: each one doubles the pause
    open_until: datetime | None = None

    def state(self, now: datetime) -> BreakerState:
        if self.open_until is None:
            return "closed"
        return "open" if now < self.open_until else "half_open"

    def after_success(self) -> Breaker:
        return Breaker()

    def after_failure(self, now: datetime, policy: BreakerPolicy) -> Breaker:
        failures = self.consecutive_failures + 1
        state = self.state(now)
        # Failures of requests that started before the breaker opened do not stretch the pause.
        if state == "open" or (state == "closed" and failures < policy.failure_threshold):
            return Breaker(failures, self.trips, self.open_until)
        trips = self.trips + 1
        return Breaker(failures, trips, now + policy.pause(trips))
