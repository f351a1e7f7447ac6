"""What an operator watches, on real processes: Prometheus scrapes of `serve` and of
`livehook worker --metrics-port` moving while deliveries flow, JSON log lines carrying request
ids and delivery ids, and no secret, key or custom header value on any line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import subprocess
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
    env = env_sharing(settings, LIVEHOOK_LOG_LEVEL="debug")
    async with running_receiver() as receiver:
        with serving(env) as server:
            async with httpx.AsyncClient(
                base_url=server.base, headers=auth(created.plaintext)
            ) as api:
                before = samples((await api.get("/metrics")).text)
                secrets = await drive(api, receiver.url("/fail/x"))
                await receiver.wait_for(3, within=10)
                await asyncio.sleep(0.5)  # the attempts' records commit
                after = samples((await api.get("/metrics")).text)

    attempts = "livehook_delivery_attempts_total"
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
                    before = await _scrape(monitor)
                    async with httpx.AsyncClient(
                        base_url=server.base, headers=auth(created.plaintext)
                    ) as api:
                        secrets = await drive(api, receiver.url("/ok"))
                    await receiver.wait_for(3, within=10)
                    # The worker counts an attempt after its answer arrives: read until the
                    # three are counted (the guard only ends a hang; the assertion is below).
                    after = before
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(20):
                            # A scrape has no event to wait on: it is read again and again.
                            while _succeeded(after := await _scrape(monitor), before) < 3:  # noqa: ASYNC110
                                await asyncio.sleep(0.1)
            finally:
                worker.send_signal(signal.SIGTERM)
                raw, _ = await asyncio.wait_for(worker.communicate(), timeout=15)
                output = raw.decode()
    assert _succeeded(after, before) >= 3
    assert worker.returncode == 0, output
    for secret in [created.plaintext, HEADER_SECRET, HEADER_PLAIN, *secrets]:
        assert secret not in output and secret not in server.output


async def _scrape(monitor: httpx.AsyncClient) -> dict[str, float]:
    return samples((await monitor.get("/metrics")).text)


def _succeeded(after: dict[str, float], before: dict[str, float]) -> float:
    """Attempts answered 2xx between two scrapes."""
    attempts = "livehook_delivery_attempts_total"
    return total(after, attempts, outcome="succeeded", status_class="2xx") - total(
        before, attempts, outcome="succeeded"
    )


async def _until_up(client: httpx.AsyncClient) -> None:
    for _ in range(100):
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the worker's metrics port did not open")
