"""How a delivery worker runs: its numbers, each with the reason for its value."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from livehook.delivery.limits import Limits
from livehook.domain.webhooks import MAX_TIMEOUT_SECONDS

# Rows of an endpoint whose secret cannot be decrypted wait this long before another try.
UNAVAILABLE_RETRY = timedelta(minutes=1)
# Rows held in endpoint lines, per send slot, before claiming stops: bounds memory and leases.
# The most: claiming stops sooner at what the worker starts within the hold (drain_rate.py).
MAX_WAITING_PER_SLOT = 10
# Attempts recorded per transaction at most: bounds one commit's size and lock time.
RECORD_BATCH = 500
# Answered attempts waiting to be recorded before claiming pauses: a slow database holds back
# new sends instead of piling up results in memory (and leases running out).
MAX_UNRECORDED = 2 * RECORD_BATCH
# A burst run waits for rows it handed back (an endpoint at its cap) if they return this soon.
BURST_WAIT = timedelta(seconds=10)

# Which deliveries a worker claims: ``livehook serve`` with worker processes keeps only the
# `livehook listen` ones (their sockets live in serve) and its processes take all the others.
Targets = Literal["all", "listen_only", "except_listen"]
# How often a ``listen_only`` worker looks for due rows. It is not woken by each enqueue: nearly
# all are for the worker processes, and its claim reads past every due row that is not its own
# (tens of thousands during a fan-out). A listener connecting wakes it at once.
LISTEN_ONLY_POLL_S = 0.5


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    concurrency: int = 500  # sends in flight at once, all endpoints together
    batch_size: int = 500  # rows per claim: one short transaction each
    lease_s: float = 60.0  # beyond the endpoint timeout: recording, and a slow database
    poll_interval_s: float = 1.0  # the fallback when no wake-up arrives
    limits: Limits = field(default_factory=Limits)
    disable_after: timedelta = timedelta(days=5)
    retention: timedelta | None = timedelta(days=30)
    prune_interval_s: float = 3600.0  # retention is in days: hourly keeps it within an hour
    prune_batch: int = 1000  # rows per retention transaction: short, never holding up claims
    listen: bool = True  # LISTEN on PostgreSQL, watch the file on SQLite
    targets: Targets = "all"

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.batch_size < 1:
            raise ValueError("concurrency and batch_size must be at least 1")

    @property
    def lease(self) -> timedelta:
        """Long enough for the slowest endpoint plus a wait in an endpoint's line."""
        return timedelta(seconds=self.lease_s + MAX_TIMEOUT_SECONDS + self.limits.hold_max_s)
