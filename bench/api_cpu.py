"""Serve's CPU per API call: a figure the machine's load barely moves, unlike the wall clock.

``python -m bench.api_cpu [--calls 500] [--databases sqlite,postgresql]`` starts ``livehook
serve`` on a fresh database (as the API scenarios do), makes the calls one at a time and prints
the CPU time serve's process spent per call (user + system, from ``psutil``), for
``GET /v1/me``, a session's creation and a verdict with no recipient. Serve's idle CPU (its
background tasks) over the same seconds is printed beside it, to be subtracted if it matters.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import psutil

from bench.api_harness import Api, serving
from bench.run import fresh_database

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


async def _per_call_ms(
    serve: psutil.Process, calls: int, one: Callable[[int], Awaitable[object]]
) -> float:
    before = _cpu_s(serve)
    for n in range(calls):
        await one(n)
    return (_cpu_s(serve) - before) / calls * 1000


async def measure(database: str, calls: int, postgres_url: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        async with (
            fresh_database(database, postgres_url, work) as url,
            serving(url, work) as served,
        ):
            api: Api = served.api
            serve = psutil.Process(served.rss.root.pid)
            for _ in range(50):  # warm: statement caches, pools
                await api.call("warm", "GET", "/v1/me")
            before, started = _cpu_s(serve), time.monotonic()
            await asyncio.sleep(2)
            idle = (_cpu_s(serve) - before) / (time.monotonic() - started) * 1000
            me = await _per_call_ms(serve, calls, lambda _: api.call("me", "GET", "/v1/me"))
            sessions: list[str] = []

            async def create(_: int) -> None:
                sessions.append(await api.session())

            created = await _per_call_ms(serve, calls, create)
            for session in sessions:
                await api.stage(session, "verification.started")
            verdict = await _per_call_ms(serve, calls, lambda n: api.verdict(sessions[n]))
    return (
        f"{database}: serve's CPU per call: GET /v1/me {me:.2f} ms, POST /v1/sessions "
        f"{created:.2f} ms, verdict (no recipient) {verdict:.2f} ms; idle {idle:.1f} ms/s "
        f"({calls} calls each, one at a time)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    args = parser.parse_args()
    for database in args.databases.split(","):
        print(await measure(database, args.calls, args.postgres_url))


if __name__ == "__main__":
    asyncio.run(main())
