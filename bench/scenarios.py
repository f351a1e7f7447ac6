"""The five livehook scenarios of issue 6, each run on SQLite and on PostgreSQL by ``bench.run``.

Throughput scenarios (1-3, 5) publish through the real fan-out (``bench.harness.publish``) while
a ``livehook worker`` process sends; a delivery counts once the database says it succeeded
(polled every 20 ms), so the time runs from the first publish to the last 2xx recorded. The
backlog scenario (4) times the worker's own claim-and-record path in this process, with a sender
that answers 200 at once, so only the database work is measured.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sqlalchemy import text

from bench.celery_peer import ProcessTreePeakRss
from bench.harness import (
    Bench,
    CpuMeter,
    bench_database,
    latencies_ms,
    publish,
    publish_batch,
    succeeded,
    wait_succeeded,
    worker_processes,
)
from bench.report import (
    MAX_BACKLOG_COST_GROWTH,
    MAX_P99_MS_AT_500_PER_S,
    MAX_PEAK_RSS_MB,
    MIN_HEALTHY_SHARE_UNDER_FAULTS,
    Row,
    meets_throughput_targets,
    p50_p99,
)
from livehook.delivery.config import WorkerConfig
from livehook.delivery.limits import Limits
from livehook.delivery.sender import Sender, SendResult
from livehook.delivery.worker import Worker
from livehook.services.webhooks import WebhookService

if TYPE_CHECKING:
    from bench.run import ScenarioContext

PUBLISH_BATCH = 500  # events per publishing transaction in the bulk scenarios
THROUGHPUT_TARGET = "≥ 0.5x limit, ≥ 3x Celery, RSS < 300 MB"
# Scenario 1's rate per database, the yardstick of the faults scenario (run after it).
_single_endpoint_rate: dict[str, float] = {}


def _rss_ok(peak_mb: float) -> bool:
    return peak_mb < MAX_PEAK_RSS_MB


async def _throughput(
    context: ScenarioContext, urls: Sequence[str], events: int, *, timeout_s: int = 5
) -> tuple[int, float, float, float, str]:
    """Publish ``events`` to every URL with a worker running; (succeeded, seconds, peak RSS MB,
    publishing seconds, a note of CPU per delivery and the workers' claims and hand-backs).
    Only URLs under ``/ok/`` can succeed: the wait is for those."""
    expected = events * sum(1 for url in urls if "/ok/" in url)
    async with bench_database(context.database_url, urls, timeout_s) as bench:
        async with worker_processes(
            bench, context.database_url, context.work_dir, context.workers
        ) as workers:
            cpu = CpuMeter(bench.db, workers)
            await cpu.start()
            started = time.time()
            await publish(bench, events, batch=max(1, PUBLISH_BATCH // len(urls)))
            published = time.time() - started
            seen, ended = await wait_succeeded(
                bench.db, context.receiver, expected, give_up_after=600
            )
            split = await cpu.stop()
        effort = "; ".join([split.per_delivery(seen), *workers.summaries()])
        return seen, ended - started, workers.peak_mb, published, effort


async def single_endpoint(context: ScenarioContext) -> Sequence[Row]:
    """Scenario 1: ``count`` events to one endpoint."""
    events = context.count
    seen, seconds, rss, published, effort = await _throughput(
        context, [context.receiver.url("/ok/single")], events
    )
    rate = seen / seconds if seconds else 0.0
    _single_endpoint_rate[context.database] = rate
    celery = context.celery.rate if context.celery else None
    met = meets_throughput_targets(rate, context.limit.rate, celery) and _rss_ok(rss)
    return [
        Row(
            "1 one endpoint",
            context.database,
            seen,
            seconds,
            peak_rss_mb=rss,
            target=THROUGHPUT_TARGET,
            met=met,
            note=f"{events:,} events; publishing alone took {published:.1f} s; {effort}",
        )
    ]


async def fan_out(context: ScenarioContext) -> Sequence[Row]:
    """Scenario 2: ``count / 20`` events (1,000 at the default) to 100 endpoints."""
    events = max(1, context.count // (100 if context.quick else 20))
    urls = [context.receiver.url(f"/ok/fan/{n}") for n in range(100)]
    seen, seconds, rss, published, effort = await _throughput(context, urls, events)
    rate = seen / seconds if seconds else 0.0
    celery = context.celery.rate if context.celery else None
    met = meets_throughput_targets(rate, context.limit.rate, celery) and _rss_ok(rss)
    return [
        Row(
            "2 fan-out x100",
            context.database,
            seen,
            seconds,
            peak_rss_mb=rss,
            target=THROUGHPUT_TARGET,
            met=met,
            note=(
                f"{events:,} events x 100 endpoints; publishing alone took {published:.1f} s; "
                f"{effort}"
            ),
        )
    ]


async def faults(context: ScenarioContext) -> Sequence[Row]:
    """Scenario 3: of 20 endpoints 2 hang (timeout 1 s) and 4 answer 500; healthy throughput."""
    events = max(1, context.count // 20)
    urls = [
        context.receiver.url(f"/{'hang' if n < 2 else 'fail' if n < 6 else 'ok'}/faults/{n}")
        for n in range(20)
    ]
    seen, seconds, rss, _, effort = await _throughput(context, urls, events, timeout_s=1)
    rate = seen / seconds if seconds else 0.0
    base = _single_endpoint_rate.get(context.database)
    share = rate / base if base else None
    met = share is not None and share >= MIN_HEALTHY_SHARE_UNDER_FAULTS and _rss_ok(rss)
    against = "scenario 1 not measured" if share is None else f"{share:.2f}x scenario 1's rate"
    return [
        Row(
            "3 faults (healthy)",
            context.database,
            seen,
            seconds,
            peak_rss_mb=rss,
            target="healthy ≥ 0.9x scenario 1",
            met=met,
            note=(
                f"{events:,} events x 20 endpoints, 2 hang, 4 answer 500; the 14 healthy "
                f"delivered {rate:,.0f}/s, {against}; {effort}"
            ),
        )
    ]


async def steady_latency(context: ScenarioContext) -> Sequence[Row]:
    """Scenario 5: 500 events/s to one endpoint for 10 s (2 s quick); result → 2xx."""
    rate, seconds_total = 500, (2 if context.quick else 10)
    tick = 0.02  # 10 events every 20 ms
    per_tick = int(rate * tick)
    ticks = int(seconds_total / tick)
    prefix = "/ok/steady"
    async with bench_database(context.database_url, [context.receiver.url(prefix)]) as bench:
        async with worker_processes(
            bench, context.database_url, context.work_dir, context.workers
        ) as workers:
            await context.receiver.reset()
            started = time.time()
            loop_start = time.monotonic()
            for n in range(ticks):
                await publish_batch(bench, range(n * per_tick, (n + 1) * per_tick))
                await asyncio.sleep(max(0.0, loop_start + (n + 1) * tick - time.monotonic()))
            published = time.time() - started
            seen, ended = await wait_succeeded(
                bench.db, context.receiver, ticks * per_tick, give_up_after=300
            )
        records = await context.receiver.records()
    p50, p99 = p50_p99(latencies_ms(records, prefix))
    met = p99 is not None and p99 < MAX_P99_MS_AT_500_PER_S and _rss_ok(workers.peak_mb)
    return [
        Row(
            "5 latency @500/s",
            context.database,
            seen,
            ended - started,
            p50_ms=p50,
            p99_ms=p99,
            peak_rss_mb=workers.peak_mb,
            target="p99 < 50 ms",
            met=met,
            note=(
                f"{ticks * per_tick:,} events, {per_tick} per transaction every {tick * 1000:.0f} "
                f"ms, publishing took {published:.1f} s; reported_at is taken just before the "
                "publishing transaction, so the commit is inside the latency"
            ),
        )
    ]


class _InstantSender(Sender):
    """Answers 200 at once: the backlog scenario times the database, not HTTP."""

    async def send(
        self, _url: str, _body: bytes, _headers: Mapping[str, str], _timeout_s: float
    ) -> SendResult:
        return SendResult(200, {}, b"ok", 0.1, None, False, None)

    async def close(self) -> None:
        return None


async def _grow_backlog(bench: Bench, total: int) -> None:
    """Copy the one published delivery until ``total`` are due, in SQL (seconds for 10^6)."""
    async with bench.db.transaction() as tx:
        template = (await tx.conn.execute(text("SELECT id FROM deliveries"))).scalar_one()
        columns = (
            "account_id, event_id, webhook_id, api_key_id, session_id, target_url, event_type, "
            "model, payload_format, signature_scheme, is_test, status, attempt_count, "
            "next_attempt_at, body_id, created_at, updated_at"
        )
        if bench.db.dialect == "postgresql":
            numbers = "generate_series(1, :n) AS n(i)"
            prefix = ""
        else:
            numbers = "n"
            prefix = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :n) "
        await tx.conn.execute(
            text(
                f"{prefix}INSERT INTO deliveries (id, {columns}) "
                f"SELECT 'dlv_backlog_' || i, {columns} FROM {numbers}, deliveries d "
                "WHERE d.id = :template"
            ),
            {"n": total - 1, "template": template},
        )
    async with bench.db.transaction() as tx:
        await tx.conn.execute(text("ANALYZE"))


async def _cycle_costs(bench: Bench, cycles: int, batch: int) -> list[float]:
    config = WorkerConfig(
        concurrency=batch, batch_size=batch, limits=Limits(per_endpoint=batch), retention=None
    )
    webhooks = WebhookService(bench.db, bench.box, _no_guard)
    worker = Worker(bench.db, webhooks, bench.box, _InstantSender(), config=config)
    costs = []
    for _ in range(cycles + 1):  # the first warms the caches and is dropped
        started = time.perf_counter()
        claimed = await worker.run_once()
        costs.append((time.perf_counter() - started) * 1000)
        assert claimed == batch, f"claimed {claimed} of {batch}"
    return costs[1:]


async def _no_guard(url: str) -> str:
    return url


async def backlog(context: ScenarioContext) -> Sequence[Row]:
    """Scenario 4: one claim-and-record cycle (claim 100, record 100 attempts) with a small
    and a large backlog due; the large one's cost against the small one's."""
    sizes = (1_000, 10_000) if context.quick else (10_000, 1_000_000)
    batch, cycles = 100, 9
    medians: list[float] = []
    rows = []
    async with bench_database(context.database_url, [context.receiver.url("/ok/bk")]) as bench:
        for size in sizes:
            with ProcessTreePeakRss(os.getpid()) as rss:
                async with bench.db.transaction() as tx:
                    await tx.conn.execute(text("DELETE FROM attempts"))
                    await tx.conn.execute(text("DELETE FROM deliveries"))
                await publish_batch(bench, range(1))
                filling = time.perf_counter()
                await _grow_backlog(bench, size)
                filled = time.perf_counter() - filling
                costs = await _cycle_costs(bench, cycles, batch)
            done = await succeeded(bench.db)
            median = statistics.median(costs)
            medians.append(median)
            growth = median / medians[0]
            last = size == sizes[-1]
            rows.append(
                Row(
                    f"4 backlog {size:,} due",
                    context.database,
                    done,
                    sum(costs) / 1000,
                    p50_ms=median,
                    p99_ms=max(costs),
                    peak_rss_mb=rss.peak_mb,
                    target=f"cost ≤ {MAX_BACKLOG_COST_GROWTH}x at {sizes[0]:,}" if last else "",
                    met=growth <= MAX_BACKLOG_COST_GROWTH if last else None,
                    note=(
                        f"{cycles} cycles of claim {batch} + record {batch} (the sender "
                        "answers at once); p50/p99 are the median and worst cycle in ms; "
                        f"{growth:.2f}x the cost at {sizes[0]:,}; backlog written in "
                        f"{filled:.1f} s; RSS is the bench process's"
                    ),
                )
            )
    return rows


SCENARIOS = [single_endpoint, fan_out, faults, backlog, steady_latency]
