"""The benchmark, in one command: ``.venv/bin/python -m bench.run [--quick]``.

One receiver process serves every measurement in turn: the limit (aiohttp, then livehook's
``Sender``, no database), the Celery peer, then each livehook scenario on SQLite and on
PostgreSQL. The table is printed and written to ``bench/RESULTS.md`` (``--quick`` is a smoke run
with small counts that writes nothing unless ``--output`` is given).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import traceback
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from rich.console import Console
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bench.celery_peer import PeerResult, PeerUnavailableError, redis_version, run_celery_peer
from bench.celery_tasks import DEFAULT_BROKER
from bench.limit import LimitResult, LimitRound, limit_rounds
from bench.receiver import ReceiverHandle, start_receiver
from bench.report import (
    Row,
    environment_facts,
    postgres_version,
    results_markdown,
    rich_table,
    row_label,
)
from livehook.logs import configure_logging
from livehook.storage.database import Database
from livehook.storage.engines import create_engine

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASES = ("sqlite", "postgresql")
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
FULL_COUNT = 20_000
QUICK_COUNT = 2_000
QUICK_CELERY_COUNT = 500


@dataclass(frozen=True)
class ScenarioContext:
    """What the harness hands a scenario; see ``Scenario`` for the contract."""

    receiver: ReceiverHandle  # reset just before the call; record-keeping is the scenario's
    database: str  # "sqlite" or "postgresql"
    database_url: str  # a fresh, migrated, empty database of this call alone (Database.from_url)
    work_dir: Path  # a temporary directory of this call, removed after it
    quick: bool  # smoke run: use small counts
    count: int  # events of the single-endpoint scenario (--count; small with --quick)
    concurrency: int  # the limit's concurrency, for a like-for-like comparison
    workers: int  # livehook worker processes to run on this database
    limit: LimitResult  # the raw aiohttp limit of this run (``limit.rate``)
    celery: PeerResult | None  # the Celery peer of this run, None when Redis was unavailable


class Scenario(Protocol):
    """A livehook scenario: one async callable, run once per database.

    It receives a ``ScenarioContext`` and returns the ``bench.report.Row``s it measured (one for
    most scenarios; the backlog scenario returns one per backlog size). The contract:

    - Use ``context.database_url`` as livehook's database: it is migrated and empty, and it is
      deleted after the call. Endpoints point at ``context.receiver.url("/ok/...")``
      (``/fail/...`` answers 500, ``/hang/...`` never answers); livehook needs its development
      setting that allows ``http://127.0.0.1`` URLs.
    - Run the livehook worker in its own process (``livehook worker`` or ``python -m ...``) so its
      peak RSS is its own: ``bench.celery_peer.ProcessTreePeakRss(pid)`` samples a process tree.
    - Time as the issue defines it: deliveries/s from first publish to the last 2xx the receiver
      recorded (``await context.receiver.records()``: columns ``arrival_ns``, ``webhook_id``,
      ``path``, ``field``, the last being the integer ``reported_at_ns`` found in the body;
      ``bench.limit.delivery_payload`` builds payloads that carry it in ``tenant_metadata``).
    - Fill ``Row.target`` with the issue's target in words and ``Row.met`` with whether it was
      met (``bench.report`` holds the numbers and ``meets_throughput_targets``); put what the
      columns cannot hold, such as a ratio against another scenario, in ``Row.note``.
    - Stop every process it started, even when it fails. An exception is reported as a failed
      row and the run goes on with the next scenario.
    """

    __name__: str

    async def __call__(self, context: ScenarioContext) -> Sequence[Row]: ...


# --- the livehook scenarios -----------------------------------------------------------------
# Each runs on SQLite and on PostgreSQL, in this order, after the limit and the Celery peer.
SCENARIOS: list[Scenario] = []


def _register_livehook_scenarios() -> None:
    # Both import this module's types.
    from bench.api_scenarios import SCENARIOS as API_SCENARIOS
    from bench.scenarios import SCENARIOS as LIVEHOOK_SCENARIOS

    SCENARIOS.extend(LIVEHOOK_SCENARIOS)
    SCENARIOS.extend(API_SCENARIOS)


@asynccontextmanager
async def fresh_database(kind: str, postgres_url: str, work_dir: Path) -> AsyncIterator[str]:
    """A migrated, empty database URL; a PostgreSQL one is dropped afterwards."""
    if kind == "sqlite":
        url = f"sqlite:///{work_dir / 'livehook.db'}"
        await _migrate(url)
        yield url
        return
    name = f"livehook_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, pool_size=1).execution_options(isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
        try:
            await _migrate(url)
            yield url
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def _migrate(url: str) -> None:
    database = Database.from_url(url, pool_size=1)
    try:
        await database.migrate()
    finally:
        await database.dispose()


def limit_row(client: str, rounds: list[LimitRound], concurrency: int) -> Row:
    """The median round by throughput, with every round's rate in the note."""
    ordered = sorted(rounds, key=lambda r: r.result.rate)
    median = ordered[len(ordered) // 2]
    result = median.result
    spread = ", ".join(f"{r.result.rate:,.0f}" for r in rounds)
    note = (
        f"no database, concurrency {concurrency}; median of {len(rounds)} rounds ({spread}/s); "
        f"the receiver saw {median.arrived:,} and spent {median.receiver_cpu_us:.0f} µs of CPU "
        f"per request (about {1e6 / median.receiver_cpu_us:,.0f} requests/s on one core)"
    )
    label = "limit (aiohttp)" if client == "aiohttp" else "limit (livehook Sender)"
    return Row(
        scenario=label,
        database="—",
        deliveries=result.deliveries,
        seconds=result.seconds,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        peak_rss_mb=result.peak_rss_mb,
        target="the ceiling" if client == "aiohttp" else "",
        note=note,
    )


async def measure_limits(
    receiver: ReceiverHandle, count: int, concurrency: int, rounds: int
) -> tuple[LimitResult, list[Row]]:
    by_client = await limit_rounds(receiver, count, concurrency, rounds)
    rows = [limit_row(client, results, concurrency) for client, results in by_client.items()]
    ceiling = sorted(by_client["aiohttp"], key=lambda r: r.result.rate)[rounds // 2].result
    return ceiling, rows


async def measure_celery(
    receiver: ReceiverHandle, count: int, broker_url: str
) -> tuple[PeerResult | None, Row]:
    await receiver.reset()
    try:
        peer = await run_celery_peer(receiver, count, broker_url=broker_url)
    except PeerUnavailableError as exc:
        return None, Row("Celery peer", "—", 0, 0.0, note=f"not measured: {exc}")
    per_publish_us = peer.publish_seconds / peer.published * 1e6
    note = (
        f"{peer.workers} prefork workers, Redis broker, requests; "
        f"{peer.deliveries:,} of {peer.published:,} arrived; publishing alone took "
        f"{peer.publish_seconds:.1f} s ({per_publish_us:.0f} µs per task); p50/p99 are arrival "
        "minus publish for a burst of that many tasks, so they include the queue's wait"
    )
    row = Row(
        scenario="Celery peer",
        database="—",
        deliveries=peer.deliveries,
        seconds=peer.seconds,
        p50_ms=peer.p50_ms,
        p99_ms=peer.p99_ms,
        peak_rss_mb=peer.peak_rss_mb,
        note=note,
    )
    return peer, row


@dataclass(frozen=True)
class Baselines:
    """What every scenario call shares: the receiver, the run's settings and its baselines."""

    receiver: ReceiverHandle
    quick: bool
    count: int
    concurrency: int
    limit: LimitResult
    celery: PeerResult | None
    only: frozenset[str] = frozenset()  # scenario names to run; empty: all of them
    workers: dict[str, int] = field(default_factory=dict)  # worker processes per database


async def run_scenario(
    scenario: Scenario, database: str, baselines: Baselines, postgres_url: str
) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="livehook-bench-") as directory:
        work_dir = Path(directory)
        async with fresh_database(database, postgres_url, work_dir) as url:
            await baselines.receiver.reset()
            context = ScenarioContext(
                receiver=baselines.receiver,
                database=database,
                database_url=url,
                work_dir=work_dir,
                quick=baselines.quick,
                count=baselines.count,
                concurrency=baselines.concurrency,
                workers=baselines.workers.get(database, 1),
                limit=baselines.limit,
                celery=baselines.celery,
            )
            return list(await scenario(context))


async def run_scenarios(
    baselines: Baselines, databases: Sequence[str], postgres_url: str, console: Console
) -> list[Row]:
    rows: list[Row] = []
    for scenario in SCENARIOS:
        if baselines.only and scenario.__name__ not in baselines.only:
            continue
        for database in databases:
            console.print(f"[bold]{scenario.__name__}[/bold] on {database} …")
            try:
                rows.extend(await run_scenario(scenario, database, baselines, postgres_url))
            except Exception as exc:  # one broken scenario must not lose the others' figures
                console.print(traceback.format_exc())
                note = f"failed: {type(exc).__name__}: {exc}"
                rows.append(Row(scenario.__name__, database, 0, 0.0, met=False, note=note))
    return rows


def worker_counts(asked: int | None) -> dict[str, int]:
    """Worker processes per database. One by default: on two cores a second PostgreSQL worker
    measured no faster (1,748-1,755/s against 1,772-1,975/s for one, 20,000 events), since the
    database, the publisher and the receiver already share the cores; on SQLite a second one
    would only queue behind the file's single write lock."""
    return {"sqlite": asked or 1, "postgresql": asked or 1}


async def run(args: argparse.Namespace, console: Console) -> tuple[list[Row], str | None]:
    """Measure everything; returns the rows and the text of RESULTS.md (None when not wanted)."""
    count = QUICK_COUNT if args.quick else args.count
    celery_count = QUICK_CELERY_COUNT if args.quick else args.count
    rounds = 1 if args.quick else args.rounds
    postgres = await postgres_version(args.postgres_url)
    databases = [db for db in args.databases.split(",") if db]
    if unknown := set(databases) - set(DATABASES):
        raise SystemExit(f"unknown database {', '.join(sorted(unknown))}: use {DATABASES}")
    if "postgresql" in databases and postgres.startswith("unreachable"):
        console.print(f"[yellow]PostgreSQL {postgres}: livehook scenarios run on SQLite only")
        databases.remove("postgresql")
    load = os.getloadavg()[0]
    console.print(f"load average {load:.2f} on {os.cpu_count()} cores before the run")
    async with await start_receiver() as receiver:
        console.print(f"limit: {count:,} POSTs at concurrency {args.concurrency} …")
        limit, rows = await measure_limits(receiver, count, args.concurrency, rounds)
        celery: PeerResult | None = None
        if not args.skip_celery:
            console.print(f"Celery peer: {celery_count:,} tasks …")
            celery, celery_row = await measure_celery(receiver, celery_count, args.redis_url)
            rows.append(celery_row)
        only = frozenset(name for name in args.scenarios.split(",") if name)
        workers = worker_counts(args.workers)
        baselines = Baselines(
            receiver, args.quick, count, args.concurrency, limit, celery, only, workers
        )
        rows += await run_scenarios(baselines, databases, args.postgres_url, console)
    celery_rate = celery.rate if celery else None
    console.print(rich_table(rows, limit.rate, celery_rate))
    if not SCENARIOS:
        console.print("No livehook scenario is registered yet (bench.run.SCENARIOS is empty).")
    for row in rows:
        if row.note:
            console.print(f"- {row_label(row)}: {row.note}")
    if args.quick and args.output is None:
        return rows, None
    settings = [
        ("deliveries per measurement", f"{count:,} (Celery {celery_count:,})"),
        ("concurrency", str(args.concurrency)),
        ("rounds of the limit", f"{rounds} (median)"),
        (
            "livehook worker processes",
            ", ".join(f"{n} on {db}" for db, n in worker_counts(args.workers).items()),
        ),
        ("load average before the run", f"{load:.2f}"),
        ("databases of the livehook scenarios", ", ".join(databases)),
    ]
    environment = environment_facts(postgres, redis_version(args.redis_url))
    text = results_markdown(
        rows=rows,
        limit_rate=limit.rate,
        celery_rate=celery_rate,
        when=datetime.now().astimezone(),
        environment=environment,
        settings=settings,
    )
    return rows, text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="smoke run with small counts")
    parser.add_argument("--count", type=int, default=FULL_COUNT, help="deliveries per run")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the limit (median kept)")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("LIVEHOOK_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="an account that may create databases; each scenario gets its own",
    )
    parser.add_argument("--redis-url", default=DEFAULT_BROKER, help="the Celery peer's broker")
    parser.add_argument("--databases", default=",".join(DATABASES))
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="livehook worker processes per scenario (default 1; claims skip each other's rows)",
    )
    parser.add_argument("--skip-celery", action="store_true")
    parser.add_argument(
        "--scenarios",
        default="",
        help="comma-separated livehook scenarios to run (single_endpoint, fan_out, faults, "
        "backlog, steady_latency, api_routes, api_ingest, api_report_under_load, "
        "api_end_to_end); all by default",
    )
    parser.add_argument("--output", type=Path, help="where to write the results (Markdown)")
    args = parser.parse_args(argv)
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # a log file or pipe: keep the table's rows on one line
    _register_livehook_scenarios()
    configure_logging("warning")  # the backlog scenario's in-process worker logs every attempt
    rows, results = asyncio.run(run(args, console))
    if results is not None:
        output = args.output or RESULTS
        output.write_text(results)
        console.print(f"written to {output}")
    raise SystemExit(1 if any(row.note.startswith("failed:") for row in rows) else 0)


if __name__ == "__main__":
    main()
