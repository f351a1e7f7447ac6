"""Deliveries and attempts, and the exact request headers of one attempt (see "The delivery
contract" in docs/architecture.md).

A delivery is one event going to one endpoint (or to a session's ``callback_url``); it is
``pending`` until an attempt gets a 2xx (``succeeded``) or the retry policy runs out
(``failed``). The body is fixed when the delivery is written; the headers are built again for
every attempt, because the timestamp and the signatures (the secrets may rotate) change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from livehook.domain import profiles
from livehook.domain.webhooks import REDACTED, is_sensitive_header

DeliveryStatus = Literal["pending", "succeeded", "failed"]
PENDING: Final = "pending"
SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"
DELIVERY_STATUSES: Final = (PENDING, SUCCEEDED, FAILED)

CONTENT_TYPE: Final = "application/json"
USER_AGENT: Final = profiles.DEFAULT_USER_AGENT
HEADER_EVENT: Final = "X-Webhook-Event"
HEADER_SESSION: Final = "X-Webhook-Session"
HEADER_ID: Final = "X-Webhook-Id"
HEADER_TEST: Final = "X-Webhook-Test"

# Why a delivery ended failed without its policy running out.
REASON_ENDPOINT_DISABLED: Final = "endpoint disabled"
REASON_PAYLOAD_EXPIRED: Final = "payload pruned by retention before it could be delivered"


@dataclass(frozen=True, slots=True)
class DeliveryHead:
    """What a delivery is from the moment it is written: one event to one recipient, in one
    format and signature scheme. ``Delivery`` (a stored row) and the queue's ``NewDelivery``
    (one about to be written) add their own fields after these."""

    id: str
    account_id: str
    event_id: str
    webhook_id: str | None  # None: a session's callback_url
    api_key_id: str
    session_id: str | None
    target_url: str
    event_type: str
    model: str | None
    payload_format: str
    signature_scheme: str


@dataclass(frozen=True, slots=True)
class NewDelivery(DeliveryHead):
    """One event going to one recipient, with the exact body the worker will sign and send:
    what the fan-out hands the queue (``storage/delivery_queue.py: DeliveryQueue.enqueue``)."""

    request_body: str  # UTF-8 JSON text
    is_test: bool = False
    wire_profile: str = profiles.DEFAULT_PROFILE


@dataclass(frozen=True, slots=True)
class Delivery(DeliveryHead):
    is_test: bool
    status: str
    attempt_count: int
    next_attempt_at: datetime | None
    request_body: str | None  # the exact UTF-8 JSON sent; None once pruned
    payload_pruned_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    wire_profile: str = profiles.DEFAULT_PROFILE  # the body's shape; headers follow it

    @property
    def endpoint_key(self) -> str:
        """What the per-endpoint limits and the circuit breaker count against."""
        return self.webhook_id or f"callback:{self.target_url}"


@dataclass(frozen=True, slots=True)
class Attempt:
    id: str
    delivery_id: str
    number: int
    started_at: datetime
    duration_ms: float
    request_headers: Mapping[str, str]
    response_status: int | None
    response_headers: Mapping[str, str] | None
    response_body: str | None  # the first 4 KiB, decoded with replacement characters
    error: str | None
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class StatusCounts:
    """Deliveries of an endpoint over a window, by status."""

    pending: int = 0
    succeeded: int = 0
    failed: int = 0

    @property
    def success_rate(self) -> float | None:
        """Succeeded out of finished; None when nothing finished (no rate to show)."""
        finished = self.succeeded + self.failed
        return self.succeeded / finished if finished else None


@dataclass(frozen=True, slots=True)
class Bucket:
    """Deliveries of an endpoint created in [start, start + step), by outcome."""

    start: datetime
    succeeded: int
    failed: int


HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Activity:
    """An endpoint's recent deliveries: counts for the last 24 hours and 7 days, and the bars
    of the charts (24 hours, 7 days), all from one count per (hour, status)."""

    last_day: StatusCounts
    last_week: StatusCounts
    hours: list[Bucket]
    days: list[Bucket]


def activity_since(now: datetime) -> datetime:
    """Where the counts of ``summarize_activity`` must start: the first of the 7 days."""
    return datetime.fromtimestamp((_number(now, DAY) - 6) * int(DAY.total_seconds()), UTC)


def summarize_activity(hourly: Mapping[tuple[int, str], int], now: datetime) -> Activity:
    """``hourly`` maps (unix time // 3600, status) to deliveries created since
    ``activity_since(now)``."""
    hours_per_day = int(DAY / HOUR)
    daily: dict[tuple[int, str], int] = {}
    for (hour, status), count in hourly.items():
        key = (hour // hours_per_day, status)
        daily[key] = daily.get(key, 0) + count
    first_hour = _number(now, HOUR) - 23
    return Activity(
        last_day=_counts(hourly, lambda hour: hour >= first_hour),
        last_week=_counts(hourly, lambda _: True),
        hours=bucket_series(hourly, end=now, step=HOUR, buckets=24),
        days=bucket_series(daily, end=now, step=DAY, buckets=7),
    )


def _number(moment: datetime, step: timedelta) -> int:
    return int(moment.timestamp()) // int(step.total_seconds())


def _counts(hourly: Mapping[tuple[int, str], int], within: Callable[[int], bool]) -> StatusCounts:
    totals = dict.fromkeys(DELIVERY_STATUSES, 0)
    for (hour, status), count in hourly.items():
        if within(hour) and status in totals:
            totals[status] += count
    return StatusCounts(**totals)


def bucket_series(
    counts: Mapping[tuple[int, str], int], *, end: datetime, step: timedelta, buckets: int
) -> list[Bucket]:
    """The last ``buckets`` steps up to ``end``, oldest first, empty ones included.

    ``counts`` maps (bucket number, status) to deliveries, the bucket number being the unix
    time of creation divided by the step.
    """
    seconds = int(step.total_seconds())
    last = int(end.timestamp()) // seconds
    return [
        Bucket(
            start=datetime.fromtimestamp(number * seconds, UTC),
            succeeded=counts.get((number, SUCCEEDED), 0),
            failed=counts.get((number, FAILED), 0),
        )
        for number in range(last - buckets + 1, last + 1)
    ]


def build_request_headers(
    *,
    event_type: str,
    event_id: str,
    session_id: str | None,
    timestamp: int,
    secrets: Sequence[str],
    body: bytes,
    scheme: str | None = None,
    profile: str = profiles.DEFAULT_PROFILE,
    user_agent: str | None = None,
    is_test: bool = False,
    custom_headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The headers of one attempt, in the order they are sent.

    ``timestamp`` is the unix time of this attempt; ``secrets`` sign newest first (both during a
    rotation overlap). ``profile`` names the headers (``profiles``); ``scheme`` overrides its
    signature scheme and ``user_agent`` its agent. Custom headers come last; their names were
    checked at registration never to collide with livehook's own.
    """
    headers = profiles.request_headers(
        profiles.get(profile),
        event_type=event_type,
        event_id=event_id,
        session_id=session_id,
        timestamp=timestamp,
        secrets=secrets,
        body=body,
        is_test=is_test,
        user_agent=user_agent,
        scheme=scheme,
    )
    if custom_headers:
        headers.update(custom_headers)
    return headers


def response_excerpt(body: bytes) -> str:
    """A response body excerpt as text for the log; bytes that are not UTF-8 become U+FFFD."""
    return body.decode("utf-8", errors="replace")


def loggable_headers(sent: Mapping[str, str], custom_headers: Mapping[str, str]) -> dict[str, str]:
    """The headers as sent, except the values of sensitive custom headers (credentials).

    Signatures stay: they are HMACs of a public body, useless without the secret, and a receiver
    debugging a mismatch needs to see them.
    """
    hidden = {name for name in custom_headers if is_sensitive_header(name)}
    return {name: (REDACTED if name in hidden else value) for name, value in sent.items()}
