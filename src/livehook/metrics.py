"""Prometheus metrics of the API and the delivery workers (prometheus-client).

Labels are few and bounded: an outcome, a status class, a route template, a method. Never an
id, a URL or an account: each label value is a time series an operator pays for.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

# Seconds; webhook receivers are told to answer within 5 s, the timeout reaches 30 s.
_ATTEMPT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_TRANSACTION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)
_FANOUT_BUCKETS = (0, 1, 2, 3, 5, 10, 25, 50, 100)

DELIVERIES = Counter(
    "livehook_delivery_attempts",
    "Delivery attempts by what followed (succeeded, retry, give_up, disable_endpoint) and the "
    "class of the answer (2xx..5xx, or none: timeout, refused).",
    ["outcome", "status_class"],
)
ATTEMPT_SECONDS = Histogram(
    "livehook_delivery_attempt_duration_seconds",
    "Time from sending a delivery to its answer (or failure).",
    buckets=_ATTEMPT_BUCKETS,
)
QUEUE_DUE = Gauge("livehook_queue_due", "Pending deliveries due now and not leased.")
QUEUE_LEASED = Gauge("livehook_queue_leased", "Pending deliveries leased by a worker.")
OLDEST_DUE_AGE = Gauge(
    "livehook_queue_oldest_due_age_seconds", "How long the oldest due delivery has waited."
)
ENDPOINTS_PAUSED = Gauge(
    "livehook_endpoints_paused", "Endpoints this worker's circuit breaker holds open."
)
ENDPOINTS_DISABLED = Gauge("livehook_endpoints_disabled", "Webhook endpoints disabled.")
FANOUT = Histogram(
    "livehook_fanout_deliveries",
    "Deliveries enqueued per event.",
    buckets=_FANOUT_BUCKETS,
)
REQUESTS = Counter(
    "livehook_http_requests",
    "API requests by route template and status.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "livehook_http_request_duration_seconds",
    "API request latency by route template.",
    ["method", "route"],
    buckets=_REQUEST_BUCKETS,
)
TRANSACTION_SECONDS = Histogram(
    "livehook_db_transaction_duration_seconds",
    "Database transactions, from asking for a connection to commit or rollback.",
    buckets=_TRANSACTION_BUCKETS,
)


def status_class(status: int | None) -> str:
    return "none" if status is None else f"{status // 100}xx"


def observe_attempt(outcome: str, status: int | None, duration_ms: float) -> None:
    DELIVERIES.labels(outcome, status_class(status)).inc()
    ATTEMPT_SECONDS.observe(duration_ms / 1000)


def set_queue(
    *, due: int, leased: int, oldest_due_at: datetime | None, disabled: int, now: datetime
) -> None:
    QUEUE_DUE.set(due)
    QUEUE_LEASED.set(leased)
    OLDEST_DUE_AGE.set(
        0 if oldest_due_at is None else max(0.0, (now - oldest_due_at).total_seconds())
    )
    ENDPOINTS_DISABLED.set(disabled)


def exposition() -> tuple[bytes, str]:
    """The text format and its content type, for a `/metrics` answer."""
    return generate_latest(), CONTENT_TYPE_LATEST
