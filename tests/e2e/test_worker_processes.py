"""`livehook worker` and `livehook serve` as real processes on a shared database: killed with
SIGKILL, stopped with SIGTERM, several at once; deliveries to a real receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import signal
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from livehook.config import Settings
from livehook.delivery.config import WorkerConfig
from livehook.domain.deliveries import PENDING, SUCCEEDED
from livehook.services.registry import Services
from livehook.storage.repositories.delivery_log import DeliveryFilters, DeliveryLogRepository
from tests.support.deliveries import (
    FakeClock,
    WorkerFactory,
    enqueue,
    new_account,
    new_webhook,
    stored,
)
from tests.support.http import auth, data
from tests.support.processes import LIVEHOOK, env_for, env_sharing, run_cli, serving
from tests.support.receivers import Receiver, running_receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver(slow_seconds=3.0) as running:
        yield running


def worker_env(settings: Settings) -> dict[str, str]:
    return env_sharing(settings)


_STARTED: list[asyncio.subprocess.Process] = []


@pytest.fixture(autouse=True)
async def _no_worker_outlives_its_test() -> AsyncIterator[None]:
    """A test that fails before stopping its workers must not leave them running: they would
    keep sending (its PostgreSQL database is then retired, not reused: databases.py)."""
    yield
    while _STARTED:
        process = _STARTED.pop()
        if process.returncode is None:
            process.kill()
            await process.wait()


async def start_worker(
    settings: Settings, tmp_path: Path, *args: str
) -> asyncio.subprocess.Process:
    with (tmp_path / f"worker-{time.monotonic_ns()}.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *LIVEHOOK,
            "worker",
            *args,
            env=worker_env(settings),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
    _STARTED.append(process)
    return process


async def test_a_worker_killed_mid_batch_loses_nothing_another_finishes_the_work(
    settings: Settings,
    services: Services,
    receiver: Receiver,
    make_worker: WorkerFactory,
    tmp_path: Path,
) -> None:
    account = await new_account(services)
    hook = await new_webhook(services, account, receiver.url("/slow"), timeout_seconds=10)
    deliveries = [await enqueue(services, account, webhook=hook.webhook) for _ in range(20)]
    process = await start_worker(settings, tmp_path)
    try:
        await receiver.wait_for(10, within=60)  # its per-endpoint cap, all in flight
    finally:
        process.kill()  # SIGKILL: no chance to hand anything back
        await process.wait()
    after_kill = [await stored(services, d.id) for d in deliveries]
    assert {d.status for d in after_kill} == {PENDING}
    assert all(d.attempt_count == 0 for d in after_kill)

    receiver.slow_seconds = 0
    lease_over = FakeClock(datetime.now(UTC) + WorkerConfig().lease + timedelta(seconds=1))
    await make_worker(lease_over).run_burst()
    finished = [await stored(services, d.id) for d in deliveries]
    assert {(d.status, d.attempt_count) for d in finished} == {(SUCCEEDED, 1)}
    # At least once: the killed worker's requests arrived too; receivers dedupe on the id.
    assert set(receiver.counts_by_event()) == {d.event_id for d in deliveries}


async def test_several_workers_never_send_a_delivery_twice_while_leases_hold(
    settings: Settings, services: Services, tmp_path: Path
) -> None:
    account = await new_account(services)
    async with running_receiver() as receiver:
        hooks = [
            (await new_webhook(services, account, receiver.url(f"/ok/{n}"))).webhook
            for n in range(3)
        ]
        for n in range(300):
            await enqueue(services, account, webhook=hooks[n % 3])
        workers = [await start_worker(settings, tmp_path, "--burst") for _ in range(3)]
        codes = await asyncio.wait_for(asyncio.gather(*(w.wait() for w in workers)), 60)
    assert codes == [0, 0, 0]
    counts = receiver.counts_by_event()
    assert len(counts) == 300 and set(counts.values()) == {1}
    async with services.db.transaction() as tx:
        repo = DeliveryLogRepository(tx)
        for hook in hooks:
            page = await repo.list_page(webhook_id=hook.id, filters=DeliveryFilters(), limit=1000)
            assert {(d.status, d.attempt_count) for d in page} == {(SUCCEEDED, 1)}


async def test_sigterm_lets_sends_in_flight_finish_and_be_recorded_then_exits(
    settings: Settings, services: Services, tmp_path: Path
) -> None:
    account = await new_account(services)
    async with running_receiver(slow_seconds=1.5) as receiver:
        hook = await new_webhook(services, account, receiver.url("/slow"))
        deliveries = [await enqueue(services, account, webhook=hook.webhook) for _ in range(4)]
        process = await start_worker(settings, tmp_path)
        await receiver.wait_for(4, within=60)
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 15)
    assert code == 0
    assert {(await stored(services, d.id)).status for d in deliveries} == {SUCCEEDED}


@pytest.mark.parametrize("database_template", ["sqlite"], indirect=True)
async def test_prune_command_removes_old_payloads(settings: Settings, services: Services) -> None:
    account = await new_account(services)
    hook = await new_webhook(services, account, "http://127.0.0.1:9/x")
    old = datetime.now(UTC) - timedelta(days=31)
    delivery = await enqueue(services, account, webhook=hook.webhook, now=old, created_at=old)
    result = await asyncio.to_thread(run_cli, "prune", env=worker_env(settings))
    assert result.returncode == 0, result.stderr
    assert "pruned 1 delivery payloads older than 30 days" in result.stdout
    assert (await stored(services, delivery.id)).request_body is None


async def test_serve_delivers_a_verdict_and_logs_the_exact_bytes(
    tmp_path: Path,
) -> None:
    """As a new user: `livehook serve` on the embedded default, a webhook to a local receiver."""
    env = env_for(tmp_path / "home", LIVEHOOK_ALLOW_LOCAL_URLS="1")
    created = await asyncio.to_thread(
        run_cli, "keys", "create", "--account", "acme", "--json", env=env
    )
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)["key"]
    async with running_receiver() as receiver:
        with serving(env) as server:
            async with httpx.AsyncClient(base_url=server.base, headers=auth(key)) as api:
                webhook = data(
                    await api.post(
                        "/v1/webhooks",
                        json={"url": receiver.url("/ok"), "events": ["verification.completed"]},
                    ),
                    201,
                )
                session = data(await api.post("/v1/sessions", json={"model": "mixed-30-v2"}), 201)
                await api.post(
                    f"/v1/sessions/{session['id']}/result",
                    json={
                        "verdict": "live",
                        "real_score": 0.93,
                        "confidence": 0.91,
                        "input_source": "rest_frames",
                        "processing_ms": 812,
                        "frames_processed": 30,
                    },
                )
                # A guard against a hang, not a speed test: on a loaded machine serve's worker
                # process may still be starting (5 s failed at load 20).
                await receiver.wait_for(1, within=30)
                [got] = receiver.received
                snippet = hmac.new(webhook["secret"].encode(), got.body, hashlib.sha256)
                assert got.header("X-Webhook-Signature") == "sha256=" + snippet.hexdigest()
                log = data(await api.get(f"/v1/webhooks/{webhook['id']}/deliveries"))
                [entry] = log["items"]
                shown = data(await api.get(f"/v1/deliveries/{entry['id']}"))
                assert shown["request_body"].encode() == got.body
                assert json.loads(got.body)["event"] == "verification.completed"
