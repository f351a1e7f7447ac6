"""The publisher's CPU per delivery written by a fan-out: one event to 100 endpoints per
transaction, as a verdict reaches 100 webhooks (`services.fanout.emit`, then the queue's
`enqueue`).

    .venv/bin/python -m bench.fanout_cpu [--events 200] [--databases sqlite,postgresql]

CPU of this process only (``time.process_time``), so the machine's load barely moves it; the
database server's own work is not counted. The median of five rounds is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench.harness import bench_database, publish_batch
from bench.run import fresh_database

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ENDPOINTS = 100
ROUNDS = 5


async def measure(database: str, events: int, postgres_url: str) -> str:
    urls = [f"http://127.0.0.1:9/ok/{n}" for n in range(ENDPOINTS)]
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            fresh_database(database, postgres_url, Path(tmp)) as url,
            bench_database(url, urls) as bench,
        ):
            await publish_batch(bench, range(10))  # warm: statement caches, pool
            per_delivery: list[float] = []
            for round_ in range(ROUNDS):
                first = (round_ + 1) * events
                started = time.process_time()
                written = 0
                for index in range(first, first + events):
                    written += await publish_batch(bench, range(index, index + 1))
                per_delivery.append((time.process_time() - started) / written * 1e6)
    median = statistics.median(per_delivery)
    rounds = ", ".join(f"{value:.0f}" for value in per_delivery)
    return f"{database:<10} {median:6.0f} µs per delivery (rounds: {rounds})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    args = parser.parse_args()
    print(f"one event to {ENDPOINTS} endpoints per transaction, {args.events} events a round")
    for database in args.databases.split(","):
        print(asyncio.run(measure(database, args.events, args.postgres_url)))


if __name__ == "__main__":
    main()
