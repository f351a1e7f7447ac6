"""The delivery worker: claim due deliveries with a lease, send them concurrently, record each
attempt, schedule the next one.

Any number of workers share one database. The loop is small: claim while there is room and
rows are due, then sleep until woken (LISTEN/NOTIFY on PostgreSQL, the in-process ``Wakeup``
otherwise, a slot freeing up) or until the poll interval passes. ``run_once`` and ``run_burst``
("until the queue is empty", as in arq) drive it step by step for tests and one-off runs; the
clock and the random source are parameters, so retries can be tested without sleeping.

Stopping (SIGTERM) stops claiming, hands rows waiting in memory back to the queue, lets every
send in flight finish and be recorded, then returns. A worker killed outright loses nothing:
its leases end and the rows come due again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
import time
from collections.abc import Callable
from datetime import datetime

import structlog

from livehook import ids, metrics, tracing
from livehook.clock import Clock, system_clock
from livehook.crypto import SecretBox
from livehook.delivery.config import (
    BURST_WAIT,
    MAX_UNRECORDED,
    MAX_WAITING_PER_SLOT,
    UNAVAILABLE_RETRY,
    Targets,
    WorkerConfig,
)
from livehook.delivery.dispatch import (
    Endpoints,
    Finished,
    Job,
    Target,
    Unavailable,
    decide,
    load_targets,
    send_attempt,
)
from livehook.delivery.drain_rate import DrainRate, waiting_budget
from livehook.delivery.group_commit import GroupCommit
from livehook.delivery.limits import EndpointLimits
from livehook.delivery.sender import Sender
from livehook.domain.deliveries import REASON_ENDPOINT_DISABLED, Delivery
from livehook.storage.database import Database, Transaction
from livehook.storage.delivery_queue import DeliveryQueue, Lease, Release, prune_payloads
from livehook.storage.notify import PostgresListener, SqliteWatcher, asyncpg_dsn
from livehook.storage.repositories.events import EventRepository
from livehook.storage.repositories.idempotency import prune_keys
from livehook.storage.wakeup import Wakeup

log = structlog.get_logger(__name__)

# ``WorkerConfig.targets`` as the claim's ``listen`` condition.
_CLAIM_LISTEN: dict[Targets, bool | None] = {
    "all": None,
    "listen_only": True,
    "except_listen": False,
}


class Worker:
    """One worker process's sending machinery; build it in a composition root."""

    def __init__(
        self,
        db: Database,
        webhooks: Endpoints,
        box: SecretBox,
        sender: Sender,
        *,
        config: WorkerConfig | None = None,
        clock: Clock = system_clock,
        rand: Callable[[], float] = random.random,
        wakeup: Wakeup | None = None,
        new_id: Callable[[str], str] = ids.new_id,
    ) -> None:
        self._db = db
        self._webhooks = webhooks
        self._box = box
        self._sender = sender
        self._config = config or WorkerConfig()
        self._clock = clock
        self._rand = rand
        self.wakeup = wakeup or Wakeup()
        self._limits: EndpointLimits[Job] = EndpointLimits(self._config.limits)
        self._tasks: set[asyncio.Task[None]] = set()  # sending or waiting to be recorded
        self._sending = 0  # of those, requests not answered yet: what the concurrency bounds
        self._records = GroupCommit(db, new_id=new_id, disable_after=self._config.disable_after)
        self._stopping = False
        self._next_prune = 0.0
        self._more_due = False  # the last fill stopped for want of room, not of due rows
        self._drain_rate = DrainRate(time.monotonic())
        # Claiming paused with the lines full (``drain_rate.py``): once they are down to this
        # many rows, the loop is woken to claim again. -1: not paused for that.
        self._refill_at = -1
        # SQLite: look in a read snapshot whether anything is due before taking the write lock
        # (unless the last claim came back full). Most wake-ups there are commits, the worker's
        # own records among them, and an empty claim would still queue behind every writer and
        # hold up the next publish.
        self._look_first = db.dialect == "sqlite"
        self._last_full = False
        self._until_idle = False
        self.attempts_made = 0  # attempts recorded by this worker
        # Claim transactions, rows they leased and rows handed back unattempted: a row handed
        # back and claimed again is work done twice (the benchmark prints these per delivery).
        self.claims = self.rows_claimed = self.rows_released = 0
        self.rows_overdue = 0  # of those released, from a line (not at the claim)
        self._returning: datetime | None = None  # when the rows released last come due
        self._run_task: asyncio.Task[None] | None = None
        self.listener: PostgresListener | SqliteWatcher | None = None  # while running
        self.running = False
        self.heartbeat: float | None = None  # time.monotonic() of the last pass of the loop

    # --- driving it ------------------------------------------------------------------------

    async def run(self, *, until_idle: bool = False) -> None:
        """Until ``stop``: claim, send, sleep until woken or the poll interval passes.

        ``until_idle`` (``livehook worker --burst``): return once nothing is due, in flight or
        waiting here, and no row this worker handed back comes due within ``BURST_WAIT``.
        """
        self._until_idle = until_idle
        self.listener = listener = self._listener()
        if listener is not None:
            await listener.start()
        self.running = True
        try:
            while not self._stopping:
                self.heartbeat = time.monotonic()
                metrics.ENDPOINTS_PAUSED.set(self._limits.open_breakers(self._clock()))
                try:
                    await self._maybe_prune()
                    await self._fill()
                    await self._release_overdue()
                except Exception:
                    # The database went away, most likely: keep sending what is in flight and
                    # try again after a poll interval; leases keep every row safe meanwhile.
                    log.exception("claiming deliveries failed; retrying")
                    self._more_due = False
                else:
                    if until_idle and self._idle():
                        break
                if not self._stopping:
                    await self.wakeup.wait(self._config.poll_interval_s)
        finally:
            self.running = False
            await self._shutdown()
            if listener is not None:
                await listener.stop()

    def _idle(self) -> bool:
        if self._tasks or self._limits.waiting_count or self._more_due:
            return False
        now = self._clock()
        return (
            self._returning is None
            or self._returning <= now
            or (self._returning - now > BURST_WAIT)
        )

    def health(self) -> str:
        """``ok``, ``stopped`` (its loop ended, e.g. it died) or ``stale`` (no pass of its loop
        for three poll intervals and the longest claim or record could take)."""
        if not self.running:
            return "stopped"
        stale_after = 3 * self._config.poll_interval_s + self._config.lease_s
        if self.heartbeat is None or time.monotonic() - self.heartbeat > stale_after:
            return "stale"
        return "ok"

    def start(self) -> None:
        """Run in the background (inside ``livehook serve``)."""
        self._run_task = asyncio.create_task(self.run(), name="livehook-worker")

    def request_stop(self) -> None:
        self._stopping = True
        self.wakeup.set()

    async def stop(self) -> None:
        """Stop claiming, finish what is in flight, return when done."""
        self.request_stop()
        if self._run_task is not None:
            await self._run_task
            self._run_task = None

    async def close(self) -> None:
        """Close the sender's connection pool (after ``stop``)."""
        await self._sender.close()

    def endpoint_back(self, key: str) -> None:
        """An endpoint that failed for want of a listener has one again: no pause for it."""
        self._limits.reset(key)
        self.wakeup.set()

    async def run_once(self) -> int:
        """Claim one batch, send it, wait for every attempt to be recorded; rows claimed.
        Rows left waiting behind an endpoint whose breaker opened go back to the queue."""
        room = self._config.concurrency - self._sending
        claimed = await self._claim(min(self._config.batch_size, room)) if room > 0 else 0
        await self._drain()
        await self._release_overdue()
        return claimed

    async def run_burst(self) -> int:
        """Until no row is due (arq's burst mode); rows claimed in all."""
        await self._maybe_prune()
        total = 0
        while not self._stopping:
            claimed = await self.run_once()
            total += claimed
            if claimed == 0:
                break
        return total

    # --- claiming --------------------------------------------------------------------------

    async def _fill(self) -> None:
        """Claim while there is room, waiting lines are short and full batches come back."""
        room_total = self._config.concurrency
        self._drain_rate.update(time.monotonic())
        budget = waiting_budget(
            self._drain_rate.per_s,
            self._config.limits.hold_max_s,
            floor=self._config.batch_size,
            ceiling=MAX_WAITING_PER_SLOT * room_total,
        )
        while not self._stopping:
            room = room_total - self._sending
            self._more_due = True
            if self._limits.waiting_count >= budget:
                self._refill_at = budget // 2
                return
            if room <= 0 or self._unrecorded >= MAX_UNRECORDED:
                return
            wanted = min(self._config.batch_size, room)
            if await self._claim(wanted) < wanted:
                self._more_due = False
                return

    async def _take(
        self, limit: int, now: datetime, token: str
    ) -> tuple[list[Delivery], dict[str, Target | Unavailable], dict[str, dict[str, str]]]:
        """Lease up to ``limit`` due rows, then read their endpoints; rows of an endpoint that
        is disabled or gone end at once."""
        listen = _CLAIM_LISTEN[self._config.targets]
        if self._look_first and not self._last_full:
            async with self._db.read() as tx:
                if not await DeliveryQueue(tx).any_due(now=now, listen=listen):
                    return [], {}, {}
        async with self._db.transaction() as tx:
            claimed = await DeliveryQueue(tx).claim(
                Lease(token, now + self._config.lease), now=now, limit=limit, listen=listen
            )
        self._last_full = len(claimed) == limit
        self.claims += 1
        self.rows_claimed += len(claimed)
        if not claimed:
            return [], {}, {}
        # The endpoints are read after the claim's commit, not inside it: the leases already
        # hold the rows, and on SQLite every statement in a write transaction holds up every
        # other writer (the publisher, this worker's records).
        async with self._db.read() as tx:
            targets = await load_targets(tx, claimed, self._webhooks, self._box, now)
            origins = await _origins(tx, claimed) if tracing.enabled() else {}
        ended = [
            d.id
            for d in claimed
            if isinstance(t := targets[d.endpoint_key], Unavailable) and t.fail
        ]
        if ended:
            async with self._db.transaction() as tx:
                await DeliveryQueue(tx).fail_leased(
                    ended, token, reason=REASON_ENDPOINT_DISABLED, now=now
                )
        return claimed, targets, origins

    async def _claim(self, limit: int) -> int:
        now = self._clock()
        token = secrets.token_hex(16)
        claimed, targets, origins = await self._take(limit, now, token)
        if not claimed:
            return 0
        releases: list[Release] = []
        sends: list[Job] = []
        mono = time.monotonic()
        for delivery in claimed:
            target = targets[delivery.endpoint_key]
            if isinstance(target, Unavailable):
                if not target.fail:
                    log.error(
                        "cannot sign deliveries",
                        endpoint=delivery.endpoint_key,
                        error=target.reason,
                    )
                    retry = Release(delivery.id, token, now + UNAVAILABLE_RETRY)
                    await self._release([retry], returning=False)
                continue
            job = Job(delivery, token, target, origins.get(delivery.event_id))
            verdict, at = self._limits.admit(delivery.endpoint_key, job, now, mono)
            if verdict == "send":
                sends.append(job)
            elif verdict == "release":
                releases.append(Release(job.delivery_id, token, at or now))
        # Released first: a breaker opening during the sends then postpones these rows too.
        await self._release(releases)
        for job in sends:
            self._start(job)
        return len(claimed)

    async def _release(self, releases: list[Release], *, returning: bool = True) -> None:
        """Hand rows back; ``returning``: a burst run waits for them (they are not broken)."""
        if not releases:
            return
        now = self._clock()
        if returning:
            self._returning = max(r.at for r in releases)
        self.rows_released += len(releases)
        async with self._db.transaction() as tx:
            await DeliveryQueue(tx).release(releases, now=now)

    async def _release_overdue(self) -> None:
        overdue = self._limits.overdue(self._clock(), time.monotonic())
        self.rows_overdue += len(overdue)
        await self._release([Release(job.delivery_id, job.token, at) for job, at in overdue])
        self._limits.forget_idle()

    # --- sending ---------------------------------------------------------------------------

    @property
    def _unrecorded(self) -> int:
        """Attempts answered and not yet recorded: bounded, so a slow database slows claims."""
        return len(self._tasks) - self._sending

    def _start(self, job: Job) -> None:
        self._sending += 1
        task = asyncio.create_task(self._process(job), name=f"deliver-{job.delivery_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _process(self, job: Job) -> None:
        # This task's own context: every line it logs names its delivery and event.
        structlog.contextvars.bind_contextvars(
            delivery_id=job.delivery_id, event_id=job.delivery.event_id
        )
        key = job.delivery.endpoint_key
        booked = answered = False
        try:
            delivery = job.delivery
            # No span without a tracer: entering a no-op one cost ~6x the check (timeit).
            span = (
                tracing.attempt_span(
                    delivery.id, delivery.event_id, delivery.event_type, job.origin
                )
                if tracing.enabled()
                else contextlib.nullcontext()
            )
            with span:
                sent = await send_attempt(job, self._sender, self._clock)
            succeeded = sent.result.succeeded
            opened_until = self._limits.finish(
                key,
                job.delivery_id,
                succeeded,
                self._clock(),
                time.monotonic(),
                answer_s=sent.result.duration_ms / 1000,
            )
            booked = True
            if succeeded:
                # The slot is free while the attempt is recorded: a commit's round trip must
                # not idle a healthy endpoint. A failure frees it only once recorded, so the
                # breaker sees the answers in flight before the line sends more.
                answered = True
                self._answered(key)
            decision = decide(job, sent, self._rand())
            metrics.observe_attempt(decision.kind, sent.result.status, sent.result.duration_ms)
            queued = await self._records.record(Finished(job, sent, decision, opened_until))
            if queued is None:
                log.warning("lease lost before the attempt was recorded", delivery=job.delivery_id)
            else:
                self.attempts_made += 1
                if queued:
                    self.wakeup.set()  # operational events to send
            log.debug(
                "delivery attempt",
                delivery=job.delivery_id,
                attempt=job.number,
                status=sent.result.status,
                error=sent.result.error,
                decision=decision.kind,
            )
        except Exception:
            # The lease runs out and the row comes due again: at least once, never lost.
            log.exception("delivery attempt failed to complete", delivery=job.delivery_id)
            if not booked:
                self._limits.finish(key, job.delivery_id, False, self._clock(), time.monotonic())
        finally:
            if not answered:
                self._answered(key)
            self._recorded()

    def _answered(self, key: str) -> None:
        """A slot of ``key`` is free: its line moves on, or the loop may claim more."""
        self._sending -= 1
        if self._stopping:
            return
        self._drain_rate.answered()
        following = self._limits.next_waiting(key, self._clock(), time.monotonic())
        if following is not None:
            self._start(following)
            if self._refill_at >= 0 and self._limits.waiting_count <= self._refill_at:
                self._refill_at = -1
                self.wakeup.set()  # the lines are down to half: claim more
            return
        free = self._config.concurrency - self._sending
        # Claiming for every freed slot would make batches of one: wait for a quarter of them.
        if self._more_due and free >= max(1, self._config.concurrency // 4):
            self.wakeup.set()

    def _recorded(self) -> None:
        """This task is done. Counted out now, not in its done callback: a group commit resumes
        many tasks at once, their callbacks run only after all of them, and each would see the
        others still there."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.discard(task)
        if self._stopping:
            return
        if self._more_due and self._unrecorded == MAX_UNRECORDED - 1:
            self.wakeup.set()  # claims stopped for the records to catch up: they have
        elif self._until_idle and not self._tasks:
            self.wakeup.set()  # the last one: time to look whether the run is over

    async def _drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def _shutdown(self) -> None:
        self._stopping = True
        waiting = self._limits.drain_waiting()
        if waiting:
            now = self._clock()
            try:
                await self._release([Release(job.delivery_id, job.token, now) for job in waiting])
            except Exception:  # their leases end on their own: nothing is lost
                log.exception("could not hand waiting deliveries back")
        await self._drain()

    # --- housekeeping ----------------------------------------------------------------------

    def _listener(self) -> PostgresListener | SqliteWatcher | None:
        if not self._config.listen:
            return None
        if self._db.dialect == "postgresql":
            return PostgresListener(asyncpg_dsn(self._db.engine), self.wakeup)
        path = self._db.sqlite_path
        return SqliteWatcher(path, self.wakeup) if path else None

    async def _maybe_prune(self) -> None:
        retention = self._config.retention
        if retention is None or time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + self._config.prune_interval_s
        try:
            pruned = await prune_payloads(
                self._db,
                older_than=self._clock() - retention,
                now=self._clock(),
                batch_size=self._config.prune_batch,
            )
            keys = await prune_keys(
                self._db, now=self._clock(), batch_size=self._config.prune_batch
            )
        except Exception:
            log.exception("pruning payloads failed; will try again")
            return
        if pruned or keys:
            log.info("pruned delivery payloads", count=pruned, idempotency_keys=keys)


async def _origins(tx: Transaction, claimed: list[Delivery]) -> dict[str, dict[str, str]]:
    """The trace context stored with each claimed delivery's event (read only when tracing)."""
    stored = await EventRepository(tx).trace_contexts({d.event_id for d in claimed})
    return {event_id: json.loads(text) for event_id, text in stored.items()}
