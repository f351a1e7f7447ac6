"""How fast is the portal's delivery log? Seeds one webhook's log, then times its pages.

    python bench/portal.py [--deliveries 100000] [--runs 15] [--postgres URL | --no-postgres]

For each database (an SQLite file, a scratch PostgreSQL database) it seeds that many deliveries
for one webhook over the last 30 days (a tenth failed, event types and models mixed), signs in
to the portal, and times each page in-process (the ASGI app called directly, no network): the
server's time from request to rendered HTML. One warm-up, then the median and the worst of
``--runs``. PostgreSQL defaults to LIVEHOOK_BENCH_POSTGRES_URL or
postgresql://postgres@127.0.0.1:5432/postgres (the bench creates and drops its own database).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import httpx
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from livehook.composition import build_app, build_services
from livehook.config import Settings
from livehook.domain.catalog import EVENT_TYPES, MODELS
from livehook.domain.ids import sortable_id
from livehook.services.registry import Services
from livehook.services.webhooks import WebhookDraft
from livehook.storage.delivery_queue import body_id
from livehook.storage.tables import deliveries, delivery_bodies, events

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench password 123"
BATCH = 10_000
SPAN = timedelta(days=30)
TYPES = [name for name, spec in EVENT_TYPES.items() if not spec.operational]


def _rows(count: int, account_id: str, key_id: str, webhook_id: str) -> list[dict[str, Any]]:
    rng = random.Random(7)
    now = datetime.now(UTC)
    rows = []
    for n in range(count):
        created = now - SPAN + SPAN * (n / count)
        failed = rng.random() < 0.1
        rows.append(
            {
                "id": sortable_id("dlv", int(created.timestamp() * 1000), rng.randbytes(10)),
                "account_id": account_id,
                "event_id": "evt_bench",
                "webhook_id": webhook_id,
                "api_key_id": key_id,
                "session_id": str(uuid.UUID(int=rng.getrandbits(128))),
                "target_url": "https://example.com/hook",
                "event_type": rng.choice(TYPES),
                "model": rng.choice(list(MODELS)),
                "payload_format": "full",
                "signature_scheme": "hmac-sha256",
                "is_test": False,
                "status": "failed" if failed else "succeeded",
                "attempt_count": 1,
                "body_id": body_id(BODY),
                "last_status_code": 500 if failed else 200,
                "created_at": created,
                "updated_at": created,
                "completed_at": created,
            }
        )
    return rows


BODY = '{"id":"evt_bench","event":"verification.completed"}'


async def _seed(services: Services, count: int) -> str:
    created = await services.keys.create(account_name="bench", name="bench")
    principal = await services.keys.authenticate(created.plaintext)
    assert principal is not None
    hook = await services.webhooks.create(principal, WebhookDraft(url="http://127.0.0.1:9/h"))
    now = datetime.now(UTC)
    async with services.db.transaction() as tx:
        await tx.conn.execute(
            insert(events).values(
                id="evt_bench",
                account_id=principal.account_id,
                type="verification.completed",
                data={},
                created_at=now,
            )
        )
        await tx.conn.execute(insert(delivery_bodies).values(id=body_id(BODY), body=BODY))
    rows = _rows(count, principal.account_id, principal.key_id, hook.webhook.id)
    for start in range(0, count, BATCH):
        async with services.db.transaction() as tx:
            await tx.conn.execute(insert(deliveries), rows[start : start + BATCH])
    if services.db.dialect == "postgresql":  # as autovacuum would, before anyone reads
        async with services.db.transaction() as tx:
            await tx.conn.execute(text("ANALYZE deliveries"))
    await services.portal.create_user(
        account_name="bench", email="bench@example.com", password=PASSWORD
    )
    return hook.webhook.id


async def _signed_in(client: httpx.AsyncClient) -> None:
    page = (await client.get("/portal/signin")).text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert token
    answer = await client.post(
        "/portal/signin",
        data={"csrf_token": token.group(1), "email": "bench@example.com", "password": PASSWORD},
    )
    assert answer.status_code == 303, answer.text


async def _time(client: httpx.AsyncClient, path: str, runs: int) -> tuple[float, float]:
    timings = []
    for n in range(runs + 1):
        started = time.perf_counter()
        answer = await client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        assert answer.status_code == 200, answer.text[:300]
        if n:  # the first is a warm-up
            timings.append(elapsed)
    return statistics.median(timings), max(timings)


async def bench(label: str, database_url: str, home: Path, count: int, runs: int) -> None:
    settings = Settings(
        home=home,
        database_url=database_url,
        secret_key="bench-secret-key-0123456789",
        run_worker=False,
        allow_local_urls=True,
    )
    services = build_services(settings)
    try:
        await services.db.migrate()
        seed_started = time.perf_counter()
        webhook_id = await _seed(services, count)
        seeded = time.perf_counter() - seed_started
        print(f"\n{label}: {count:,} deliveries seeded in {seeded:.1f} s")
        app = build_app(settings, services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await _signed_in(client)
            log = f"/portal/webhooks/{webhook_id}/deliveries"
            first = await client.get(log)
            cursor = re.findall(r'href="/portal/deliveries/(dlv_[^"]+)"', first.text)[-1]
            today = datetime.now(UTC).date()
            pages = {
                "log, newest 50": log,
                "log, next page (cursor)": f"{log}?cursor={cursor}",
                "log, event type": f"{log}?event=verification.completed",
                "log, event + model": f"{log}?event=verification.completed&model=mixed-30-v2",
                "log, failed": f"{log}?status=failed",
                "log, 5xx": f"{log}?status_class=5",
                "log, one day a week ago": f"{log}?start={today - timedelta(days=7)}"
                f"&end={today - timedelta(days=7)}",
                "webhook detail (24 h and 7 d counts)": f"/portal/webhooks/{webhook_id}",
            }
            print(f"{'page':<40} {'median ms':>10} {'worst ms':>10}")
            for name, path in pages.items():
                median, worst = await _time(client, path, runs)
                print(f"{name:<40} {median:>10.1f} {worst:>10.1f}")
    finally:
        await services.db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--postgres", default=os.environ.get("LIVEHOOK_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        await bench("SQLite", f"sqlite:///{home / 'bench.db'}", home, args.deliveries, args.runs)
        if args.no_postgres:
            return
        admin = make_url(args.postgres)
        name = f"livehook_portal_bench_{os.getpid()}"
        dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
            try:
                url = admin.set(database=name).render_as_string(hide_password=False)
                await bench("PostgreSQL", url, home, args.deliveries, args.runs)
            finally:
                await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
