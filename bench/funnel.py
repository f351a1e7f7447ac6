"""How fast is the funnel query? Seeds events, then times `GET /v1/stats/funnel`'s query.

    python bench/funnel.py [--sizes 10000 1000000] [--runs 7] [--postgres URL | --no-postgres]

For each size and database (an SQLite file, a scratch PostgreSQL database) it seeds that many
events over 90 days of sessions (a realistic funnel: most start, fewer reach liveness, some drop
off; a tenth of the events belong to another account), then times the query the API runs for
the last 30 days, unfiltered and filtered by tracker and by model: one warm-up, then the median
of ``--runs``. It prints the plan of the unfiltered query, so the use of ix_events_funnel shows.
PostgreSQL defaults to LIVEHOOK_BENCH_POSTGRES_URL or postgresql://postgres@127.0.0.1:5432/postgres
(the bench creates and drops its own database there).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
from sqlalchemy import bindparam, insert, text
from sqlalchemy.engine import make_url

from livehook.domain.catalog import MODELS
from livehook.domain.lifecycle import status_for
from livehook.storage.database import Database
from livehook.storage.repositories.stats import StatsRepository, funnel_query
from livehook.storage.tables import accounts, api_keys, events, sessions
from livehook.storage.types import UTCDateTime

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
NOW = datetime(2026, 3, 1, tzinfo=UTC)
SPAN = timedelta(days=90)  # sessions are spread over this; the query reads the last 30 days
WINDOW = timedelta(days=30)
ACCOUNT, OTHER = "acct_bench", "acct_other"
TRACKERS = [f"campaign-{n}" for n in range(10)]
BATCH = 20_000


@dataclass(frozen=True)
class Seeded:
    sessions: list[dict[str, Any]]
    events: list[dict[str, Any]]


def _journey(rng: random.Random) -> list[str]:
    """One session's stages: a plausible funnel with drop-offs."""
    stages = ["verification.initialized"]
    if rng.random() < 0.9:
        stages.append("verification.started")
        if rng.random() < 0.3:
            stages.append("account.created")
        if rng.random() < 0.85:
            stages.append("consent.granted")
            if rng.random() < 0.8:
                stages.append("liveness.started")
                roll = rng.random()
                if roll < 0.75:
                    stages.append("liveness.passed")
                    if rng.random() < 0.03:
                        stages.append("face.collision")
                    stages.append("verification.completed")
                elif roll < 0.85:
                    stages += ["liveness.failed", "verification.completed"]
                else:
                    stages.append("liveness.cancelled")
    if stages[-1] != "verification.completed" and rng.random() < 0.2:
        stages.append("verification.failed")
    return stages


def seed_rows(total_events: int, rng: random.Random) -> Seeded:
    session_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    models = list(MODELS)
    while len(event_rows) < total_events:
        account = OTHER if rng.random() < 0.1 else ACCOUNT
        created = NOW - SPAN * rng.random()
        session_id = str(uuid.UUID(int=rng.getrandbits(128)))
        model, tracker = rng.choice(models), rng.choice(TRACKERS)
        stages = _journey(rng)
        session_rows.append(
            {
                "id": session_id,
                "account_id": account,
                "api_key_id": f"key_{account}",
                "model": model,
                "external_id": None,
                "external_tracker": tracker,
                "tenant_metadata": None,
                "callback_url": None,
                "callback_format": "full",
                "stage": stages[-1],
                "status": status_for(stages[-1]),
                "trust_score": None,
                "result": None,
                "error": None,
                "created_at": created,
                "updated_at": created,
                "ended_at": None,
            }
        )
        for offset, stage in enumerate(stages):
            event_rows.append(
                {
                    "id": f"evt_{len(event_rows):026d}",
                    "account_id": account,
                    "session_id": session_id,
                    "type": stage,
                    "data": {"stage": stage},
                    "is_test": False,
                    "created_at": created + timedelta(seconds=offset),
                    "model": model,
                    "external_tracker": tracker,
                    "session_created_at": created,
                }
            )
    return Seeded(session_rows, event_rows)


def _batches(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


async def _seed_owners(db: Database) -> None:
    async with db.transaction() as tx:
        for account in (ACCOUNT, OTHER):
            await tx.conn.execute(insert(accounts).values(id=account, name=account, created_at=NOW))
            await tx.conn.execute(
                insert(api_keys).values(
                    id=f"key_{account}",
                    account_id=account,
                    name="bench",
                    key_hash=account.ljust(64, "0"),
                    key_prefix="lh_bench",
                    scopes=[],
                    callback_secret="-",
                    created_at=NOW,
                )
            )


async def seed_sqlite(db: Database, seeded: Seeded) -> None:
    await _seed_owners(db)
    async with db.transaction() as tx:
        for table, rows in ((sessions, seeded.sessions), (events, seeded.events)):
            for batch in _batches(rows):
                await tx.conn.execute(insert(table), batch)
        await tx.conn.execute(text("ANALYZE"))


async def seed_postgres(db: Database, url: str, seeded: Seeded) -> None:
    """COPY, the bulk path: seeding a million rows through INSERTs would dwarf the bench."""
    await _seed_owners(db)
    conn = await asyncpg.connect(url)
    try:
        for table, rows in (("sessions", seeded.sessions), ("events", seeded.events)):
            columns = list(rows[0])
            records = [
                tuple(
                    json.dumps(v) if isinstance(v, dict) else v for v in (row[c] for c in columns)
                )
                for row in rows
            ]
            await conn.copy_records_to_table(table, records=records, columns=columns)
        await conn.execute("VACUUM ANALYZE events")  # sets the visibility map: index-only scans
    finally:
        await conn.close()


def _filters() -> dict[str, dict[str, Any]]:
    return {
        "all": {},
        "tracker": {"external_tracker": TRACKERS[3]},
        "model": {"model": "mixed-30-v2"},
    }


async def _explain(db: Database, prefix: str, filters: dict[str, Any]) -> list[str]:
    query = funnel_query(account_id=ACCOUNT, start=NOW - WINDOW, end=NOW, **filters)
    compiled = query.compile()
    params = [
        bindparam(name, value, type_=UTCDateTime() if isinstance(value, datetime) else None)
        for name, value in compiled.params.items()
    ]
    async with db.transaction() as tx:
        result = await tx.conn.execute(text(f"{prefix} {compiled}").bindparams(*params))
        return [" ".join(str(part) for part in row) for row in result.all()]


async def time_queries(db: Database, runs: int) -> dict[str, float]:
    timings: dict[str, float] = {}
    for name, filters in _filters().items():
        samples = []
        for run in range(runs + 1):
            started = time.perf_counter()
            async with db.transaction() as tx:
                counts = await StatsRepository(tx).funnel_counts(
                    account_id=ACCOUNT, start=NOW - WINDOW, end=NOW, **filters
                )
            if run:  # the first run warms the cache
                samples.append((time.perf_counter() - started) * 1000)
        assert counts, "the query found nothing: the seed and the window disagree"
        timings[name] = statistics.median(samples)
    return timings


async def bench_sqlite(runs: int, seeded: Seeded) -> tuple[dict[str, float], list[str]]:
    with tempfile.TemporaryDirectory() as directory:
        db = Database.from_url(f"sqlite:///{Path(directory) / 'bench.db'}")
        try:
            await db.migrate()
            await seed_sqlite(db, seeded)
            plan = await _explain(db, "EXPLAIN QUERY PLAN", {})
            return await time_queries(db, runs), plan
        finally:
            await db.dispose()


async def bench_postgres(
    admin_url: str, runs: int, seeded: Seeded
) -> tuple[dict[str, float], list[str]]:
    name = f"lh_bench_{uuid.uuid4().hex[:8]}"
    plain = make_url(admin_url).set(drivername="postgresql")
    admin = await asyncpg.connect(plain.render_as_string(hide_password=False))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = plain.set(database=name).render_as_string(hide_password=False)
    db = Database.from_url(url)
    try:
        await db.migrate()
        await seed_postgres(db, url, seeded)
        plan = await _explain(db, "EXPLAIN (ANALYZE, BUFFERS)", {})
        return await time_queries(db, runs), plan
    finally:
        await db.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--postgres", default=os.environ.get("LIVEHOOK_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()

    results: list[tuple[str, int, int, dict[str, float]]] = []
    for size in args.sizes:
        seeded = seed_rows(size, random.Random(size))
        print(f"\n== {len(seeded.events):,} events, {len(seeded.sessions):,} sessions")
        engines = [("sqlite", bench_sqlite(args.runs, seeded))]
        if not args.no_postgres:
            engines.append(("postgresql", bench_postgres(args.postgres, args.runs, seeded)))
        for label, job in engines:
            started = time.perf_counter()
            timings, plan = await job
            print(f"-- {label}: seeded and timed in {time.perf_counter() - started:.1f} s; plan:")
            print("\n".join(f"   {line}" for line in plan))
            results.append((label, len(seeded.events), len(seeded.sessions), timings))

    names = list(_filters())
    print("\nfunnel query, last 30 of 90 days, median ms of", args.runs, "runs")
    print(f"{'database':<12}{'events':>12}{'sessions':>11}" + "".join(f"{n:>11}" for n in names))
    for label, n_events, n_sessions, timings in results:
        cells = "".join(f"{timings[n]:>11.2f}" for n in names)
        print(f"{label:<12}{n_events:>12,}{n_sessions:>11,}{cells}")


if __name__ == "__main__":
    asyncio.run(main())
