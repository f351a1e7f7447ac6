"""Retry policies and the decision taken after each delivery attempt.

Policies: `standard` retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (8 attempts over
about 27 h) with ±20 % jitter; `once` retries a single time after 5 s, like the source products
that "retry once"; a custom policy is the list of delays its owner chose, used exactly (no jitter:
they asked for those numbers).

After an attempt (`RetryPolicy.decide`):
- only a 2xx answer succeeds; redirects are not followed and count as failures, as does every
  other status, a timeout or a connection error (a 400 may be a deploy in progress on the
  receiver's side, so it is retried like the rest);
- 410 Gone disables the endpoint at once: the receiver told us the URL is gone for good;
- after the policy's last attempt we give up;
- otherwise we retry after the policy's delay, stretched to the receiver's `Retry-After` (seconds
  or an HTTP-date) when that is longer, but never stretched past 24 h by it; a timeout or 429
  waits at least 60 s, whatever the policy says.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

MIN_DELAY_S = 1  # a custom delay below a second would hammer a receiver that is already failing
MAX_DELAY_S = 24 * 3600  # a day: later than that, most events are stale for the receiver
MAX_CUSTOM_DELAYS = 20  # 21 attempts per event is plenty; more only adds load on a dead endpoint
JITTER_FRACTION = 0.2  # ±20 % spreads a burst of failures so a recovering receiver isn't stampeded
THROTTLED_MIN_DELAY_S = 60  # a timeout or 429 means "overloaded": give the receiver a minute
MAX_RETRY_AFTER_S = MAX_DELAY_S  # a receiver's Retry-After may push a retry back a day, no more
STANDARD_DELAYS_S = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
ONCE_DELAYS_S = (5,)  # one quick retry rides out a blip; the next step is a human redelivering

STANDARD = "standard"
ONCE = "once"
CUSTOM = "custom"
DEFAULT_RETRY_POLICY = STANDARD

_DURATION_RE = re.compile(r"^([0-9]+)\s*([smh]?)$")
_SECONDS_RE = re.compile(r"^[0-9]+$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600}
_PARSE_HINT = (
    f"a retry policy is 'standard', 'once', or a list of 1 to {MAX_CUSTOM_DELAYS} delays in "
    f"seconds, each {MIN_DELAY_S}..{MAX_DELAY_S} (e.g. [5, 60, 600] or '5s, 1m, 10m')"
)


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """How one HTTP POST ended: a status, a timeout, or a connection error."""

    status: int | None
    timed_out: bool = False
    error: str | None = None
    retry_after: str | None = None

    @property
    def succeeded(self) -> bool:
        return not self.timed_out and self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        if self.timed_out:
            return "timed out"
        if self.status is not None:
            return f"HTTP {self.status}"
        return f"error: {self.error or 'no response'}"


@dataclass(frozen=True, slots=True)
class Succeeded:
    kind: Literal["succeeded"] = "succeeded"


@dataclass(frozen=True, slots=True)
class RetryAt:
    when: datetime
    delay_s: float
    kind: Literal["retry"] = "retry"


@dataclass(frozen=True, slots=True)
class GiveUp:
    reason: str
    kind: Literal["give_up"] = "give_up"


@dataclass(frozen=True, slots=True)
class DisableEndpoint:
    reason: str
    kind: Literal["disable_endpoint"] = "disable_endpoint"


Decision = Succeeded | RetryAt | GiveUp | DisableEndpoint


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` value (delay-seconds or HTTP-date), or None if the
    value is absent or malformed (a malformed header is ignored, not trusted)."""
    if value is None:
        return None
    text = value.strip()
    if _SECONDS_RE.fullmatch(text):
        return float(int(text))
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000" means UTC with no claim about the local zone
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def _check_delays(delays: tuple[int, ...]) -> None:
    if not 1 <= len(delays) <= MAX_CUSTOM_DELAYS:
        raise ValueError(f"{_PARSE_HINT}; got {len(delays)} delays")
    for delay in delays:
        if isinstance(delay, bool) or not isinstance(delay, int):
            raise ValueError(f"{_PARSE_HINT}; {delay!r} is not a whole number of seconds")
        if not MIN_DELAY_S <= delay <= MAX_DELAY_S:
            raise ValueError(f"{_PARSE_HINT}; {delay} s is out of bounds")


def _parse_delay_text(item: str) -> int:
    match = _DURATION_RE.fullmatch(item.strip().lower())
    if match is None:
        raise ValueError(f"{_PARSE_HINT}; cannot read {item.strip()!r} as a delay")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Delays (seconds) after each failed attempt; attempt n+1 waits `delays[n-1]`."""

    name: str
    delays: tuple[int, ...]
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in (STANDARD, ONCE, CUSTOM):
            raise ValueError(f"unknown retry policy {self.name!r}")
        if not 0.0 <= self.jitter < 1.0:
            raise ValueError("jitter must be a fraction in [0, 1)")
        _check_delays(self.delays)

    @classmethod
    def standard(cls) -> RetryPolicy:
        return cls(STANDARD, STANDARD_DELAYS_S, JITTER_FRACTION)

    @classmethod
    def once(cls) -> RetryPolicy:
        return cls(ONCE, ONCE_DELAYS_S)

    @classmethod
    def custom(cls, delays: list[int] | tuple[int, ...]) -> RetryPolicy:
        return cls(CUSTOM, tuple(delays))

    @classmethod
    def parse(cls, value: str | list[int]) -> RetryPolicy:
        """Read a policy from the API or storage; ValueError with a clear message otherwise."""
        if isinstance(value, list):
            return cls.custom(value)
        if not isinstance(value, str):
            raise ValueError(f"{_PARSE_HINT}; got {type(value).__name__}")
        text = value.strip()
        if text.lower() == STANDARD:
            return cls.standard()
        if text.lower() == ONCE:
            return cls.once()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError:
                raise ValueError(f"{_PARSE_HINT}; {text!r} is not a JSON list") from None
            if not isinstance(items, list):
                raise ValueError(f"{_PARSE_HINT}; {text!r} is not a JSON list")
            return cls.custom(items)
        if not text:
            raise ValueError(f"{_PARSE_HINT}; got an empty value")
        return cls.custom([_parse_delay_text(item) for item in text.split(",")])

    def to_json(self) -> str | list[int]:
        """What to store: the name of a built-in policy, or a custom policy's delays."""
        return list(self.delays) if self.name == CUSTOM else self.name

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    def delay_after(self, attempt_number: int, rand: float) -> float:
        """Seconds to wait after failed attempt `attempt_number` (1-based), jitter applied."""
        if not 1 <= attempt_number < self.max_attempts:
            raise ValueError(f"attempt {attempt_number} has no retry after it in this policy")
        if not (math.isfinite(rand) and 0.0 <= rand < 1.0):
            raise ValueError(f"rand must be in [0, 1), got {rand!r}")
        base = self.delays[attempt_number - 1]
        return base * (1.0 + self.jitter * (2.0 * rand - 1.0))

    def decide(
        self, attempt_number: int, outcome: AttemptOutcome, now: datetime, rand: float
    ) -> Decision:
        """What to do after attempt `attempt_number` (1-based) ended with `outcome` at `now`."""
        if attempt_number < 1:
            raise ValueError("attempt numbers start at 1")
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if outcome.succeeded:
            return Succeeded()
        if outcome.status == 410:
            return DisableEndpoint("the endpoint answered 410 Gone")
        if attempt_number >= self.max_attempts:
            return GiveUp(f"gave up after {attempt_number} attempts; last: {outcome.describe()}")
        delay = self.delay_after(attempt_number, rand)
        retry_after = parse_retry_after(outcome.retry_after, now)
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
        if outcome.timed_out or outcome.status == 429:
            delay = max(delay, THROTTLED_MIN_DELAY_S)
        return RetryAt(when=now + timedelta(seconds=delay), delay_s=delay)

    def next_attempt_at(self, attempt_number: int, now: datetime, rand: float) -> datetime:
        """When the attempt after failed attempt `attempt_number` is due, by the schedule alone."""
        return now + timedelta(seconds=self.delay_after(attempt_number, rand))
