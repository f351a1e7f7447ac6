"""What an operator watches, on real processes: Prometheus scrapes of `serve` and of
`livehook worker --metrics-port` moving while deliveries flow, JSON log lines carrying request
ids and delivery ids, and no secret, key or custom header value on any line."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from livehook.config import Settings
from livehook.services.registry import Services
from tests.support.http import auth, data
from tests.support.processes import LIVEHOOK, env_sharing, free_port, serving
from tests.support.receivers import running_receiver
from tests.support.sessions import LIVE

HEADER_SECRET = "Bearer custom-header-secret-0123456789"
HEADER_PLAIN = "tenant-value-abcdefgh"
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([0-9.eE+-]+|NaN)$", re.M)


def samples(text: str) -> dict[str, float]:
    """`name{labels}` -> value, from the Prometheus text format."""
    return {m[1] + (m[2] or ""): float(m[3]) for m in _SAMPLE.finditer(text)}


def total(scrape: dict[str, float], name: str, **labels: str) -> float:
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(
        value
        for series, value in scrape.items()
        if series.split("{")[0] == name and all(w in series for w in wanted)
    )


async def scrape_until(
    client: httpx.AsyncClient, moved: Callable[[dict[str, float]], bool], within: float = 60
) -> dict[str, float]:
    """The first scrape of /metrics on which ``moved`` holds: an attempt is counted once its
    record commits, after the receiver has answered."""
    async with asyncio.timeout(within):
        while True:
            scrape = samples((await client.get("/metrics")).text)
            if moved(scrape):
                return scrape
            await asyncio.sleep(0.05)


def json_lines(output: str) -> list[dict[str, Any]]:
    lines = [line for line in output.splitlines() if line.startswith("{")]
    return [json.loads(line) for line in lines]


async def drive(api: httpx.AsyncClient, receiver_url: str) -> list[str]:
    """A webhook with custom headers, a rotation, a verdict, a test event: the secrets seen."""
    created = data(
        await api.post(
            "/v1/webhooks",
            json={
                "url": receiver_url,
                "headers": {"Authorization": HEADER_SECRET, "X-Tenant": HEADER_PLAIN},
            },
        ),
        201,
    )
    rotated = data(await api.post(f"/v1/webhooks/{created['id']}/rotate-secret"))
    session = data(await api.post("/v1/sessions", json={"model": "mixed-30-v2"}), 201)
    data(await api.post(f"/v1/sessions/{session['id']}/result", json=LIVE))
    data(await api.post(f"/v1/webhooks/{created['id']}/test"), 202)
    # Refused requests carrying the secrets must not echo them into a log either.
    await api.post("/v1/webhooks", json={"url": "ftp://x", "headers": {"A": HEADER_SECRET}})
    await api.get("/v1/me", headers={"Authorization": "Bearer " + HEADER_SECRET})
    return [created["secret"], rotated["secret"]]


async def test_serve_metrics_move_and_logs_carry_ids_but_no_secret(
    settings: Settings, services: Services
) -> None:
    created = await services.keys.create(account_name="acme")
    await services.db.dispose()
    attempts = "livehook_delivery_attempts_total"
    env = env_sharing(settings, LIVEHOOK_LOG_LEVEL="debug")
    async with running_receiver() as receiver:
        with serving(env) as server:
            async with httpx.AsyncClient(
                base_url=server.base, headers=auth(created.plaintext)
            ) as api:
                before = samples((await api.get("/metrics")).text)
                secrets = await drive(api, receiver.url("/fail/x"))
                await receiver.wait_for(3, within=60)
                after = await scrape_until(
                    api,
                    lambda s: (
                        total(s, attempts, status_class="5xx") - total(before, attempts) >= 3
                        and total(s, "livehook_delivery_attempt_duration_seconds_count") >= 3
                    ),
                )

    assert total(after, attempts, status_class="5xx") - total(before, attempts) >= 3
    assert total(after, attempts, outcome="retry") >= 3
    assert total(after, "livehook_delivery_attempt_duration_seconds_count") >= 3
    sessions = {"route": "/v1/sessions", "method": "POST", "status": "201"}
    assert total(after, "livehook_http_requests_total", **sessions) == 1
    assert total(after, "livehook_http_request_duration_seconds_count", route="/v1/sessions") >= 1
    assert total(after, "livehook_fanout_deliveries_count") >= 3
    assert total(after, "livehook_db_transaction_duration_seconds_count") > total(
        before, "livehook_db_transaction_duration_seconds_count"
    )
    assert total(after, "livehook_queue_leased") + total(after, "livehook_queue_due") >= 0
    assert "livehook_queue_oldest_due_age_seconds" in after
    assert "livehook_endpoints_disabled" in after and "livehook_endpoints_paused" in after
    assert not any("wh_" in series or "dlv_" in series for series in after)  # no ids as labels

    output = server.output
    for secret in [
        created.plaintext,
        created.callback_secret,
        HEADER_SECRET,
        HEADER_PLAIN,
        *secrets,
    ]:
        assert secret not in output
    assert "custom-header-secret" not in output
    lines = json_lines(output)
    access = [line for line in lines if line.get("event") == "request"]
    assert len(access) >= 8
    for line in access:
        assert set(line) >= {"request_id", "method", "route", "status", "duration_ms"}
    assert {line["route"] for line in access} >= {"/v1/sessions", "/v1/webhooks/{webhook_id}/test"}
    attempt_lines = [line for line in lines if line.get("event") == "delivery attempt"]
    assert attempt_lines
    assert all(line.get("delivery_id") and line.get("event_id") for line in attempt_lines)


async def test_a_worker_serves_metrics_and_readiness_on_its_own_port(
    settings: Settings, services: Services, tmp_path: Path
) -> None:
    created = await services.keys.create(account_name="acme")
    await services.db.dispose()
    env = env_sharing(settings, LIVEHOOK_RUN_WORKER="false")
    port = free_port()
    attempts = "livehook_delivery_attempts_total"

    def succeeded(scrape: dict[str, float]) -> float:
        return total(scrape, attempts, outcome="succeeded")

    async with running_receiver() as receiver:
        with serving(env) as server:
            worker = await asyncio.create_subprocess_exec(
                *LIVEHOOK,
                "worker",
                "--metrics-port",
                str(port),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            try:
                metrics_url = f"http://127.0.0.1:{port}"
                async with httpx.AsyncClient(base_url=metrics_url) as monitor:
                    await _until_up(monitor)
                    ready = (await monitor.get("/readyz")).json()["data"]
                    assert ready == {"status": "ok", "database": "ok", "worker": "ok"}
                    before = samples((await monitor.get("/metrics")).text)
                    async with httpx.AsyncClient(
                        base_url=server.base, headers=auth(created.plaintext)
                    ) as api:
                        secrets = await drive(api, receiver.url("/ok"))
                    await receiver.wait_for(3, within=60)
                    after = await scrape_until(
                        monitor, lambda s: succeeded(s) - succeeded(before) >= 3
                    )
            finally:
                worker.send_signal(signal.SIGTERM)
                raw, _ = await asyncio.wait_for(worker.communicate(), timeout=15)
                output = raw.decode()
    moved = total(after, attempts, outcome="succeeded", status_class="2xx") - succeeded(before)
    assert moved >= 3
    assert worker.returncode == 0, output
    for secret in [created.plaintext, HEADER_SECRET, HEADER_PLAIN, *secrets]:
        assert secret not in output and secret not in server.output


async def _until_up(client: httpx.AsyncClient, within: float = 60) -> None:
    # Generous bounds: the worker starts a fresh interpreter, slow on a loaded machine.
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the worker's metrics port did not open")
