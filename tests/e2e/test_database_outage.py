"""Faults. PostgreSQL unreachable for ten seconds under load (a proxy in front of it is cut,
the server itself keeps running): the API answers 503 with Retry-After, never 500, and once it is
back the in-process worker resumes by itself and delivers every event whose write was
acknowledged. And SIGTERM on serve drains the sends in flight."""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from livehook.config import Settings
from livehook.domain.deliveries import SUCCEEDED
from livehook.services.registry import Services
from livehook.storage.repositories.delivery_log import DeliveryFilters, DeliveryLogRepository
from tests.support.http import auth, data
from tests.support.processes import env_sharing, serving
from tests.support.receivers import running_receiver
from tests.support.sessions import LIVE
from tests.support.tcp_proxy import proxied

OUTAGE_SECONDS = 10
CLIENTS = 8


async def verdicts(
    api: httpx.AsyncClient, until: float, answers: list[httpx.Response]
) -> list[str]:
    """Sessions to their verdict until ``until``; the acknowledged completion event ids."""
    acknowledged = []
    while time.monotonic() < until:
        created = await api.post("/v1/sessions", json={"model": "mixed-30-v2"})
        answers.append(created)
        if created.status_code != 201:
            await asyncio.sleep(0.2)
            continue
        session_id = created.json()["data"]["id"]
        for _ in range(100):  # the client retries as Retry-After tells it
            result = await api.post(
                f"/v1/sessions/{session_id}/result",
                json=LIVE,
                headers={"Idempotency-Key": f"verdict-{session_id}"},
            )
            answers.append(result)
            if result.status_code == 200:
                stages = result.json()["data"]["stages"]
                acknowledged += [
                    s["event_id"] for s in stages if s["stage"] == "verification.completed"
                ]
                break
            await asyncio.sleep(0.2)
    return acknowledged


# An embedded SQLite file cannot become unreachable: PostgreSQL only.
@pytest.mark.parametrize("database_template", ["postgres"], indirect=True)
async def test_an_outage_gives_503_with_retry_after_and_loses_nothing(
    settings: Settings, services: Services, full_key: str
) -> None:
    await services.db.dispose()
    url = make_url(settings.resolved_database_url)
    with proxied(url.host or "127.0.0.1", url.port or 5432) as proxy:
        via_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        env = env_sharing(settings, LIVEHOOK_DATABASE_URL=via_proxy)
        async with running_receiver() as receiver:
            with serving(env) as server:
                async with httpx.AsyncClient(
                    base_url=server.base, headers=auth(full_key), timeout=30
                ) as api:
                    hook = {"url": receiver.url("/ok"), "events": ["verification.completed"]}
                    data(await api.post("/v1/webhooks", json=hook), 201)
                    answers: list[httpx.Response] = []
                    end = time.monotonic() + OUTAGE_SECONDS + 6
                    load = asyncio.gather(*(verdicts(api, end, answers) for _ in range(CLIENTS)))
                    await asyncio.sleep(2)
                    proxy.cut()
                    await asyncio.sleep(OUTAGE_SECONDS)
                    during = list(answers)
                    proxy.restore()
                    acknowledged = [e for ids in await load for e in ids]
                    expected = set(acknowledged)
                    await _until(lambda: expected <= {r.event_id for r in receiver.received})
    statuses = {a.status_code for a in answers}
    assert statuses <= {200, 201, 503}, _bodies(answers)
    unavailable = [a for a in during if a.status_code == 503]
    assert unavailable, "the outage was not seen"
    assert all(a.headers.get("Retry-After") for a in unavailable)
    assert all(a.json()["error"] == "unavailable" for a in unavailable)
    assert len(expected) == len(acknowledged) >= CLIENTS


async def _until(condition: Any, within: float = 90) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the worker did not deliver everything"
        await asyncio.sleep(0.2)


def _bodies(answers: list[httpx.Response]) -> str:
    return "\n".join(a.text[:300] for a in answers if a.status_code not in (200, 201, 503))


async def test_sigterm_on_serve_lets_its_sends_in_flight_finish_and_be_recorded(
    settings: Settings, services: Services, full_key: str
) -> None:
    await services.db.dispose()
    env = env_sharing(settings)
    async with running_receiver(slow_seconds=2.0) as receiver:
        with serving(env) as server:
            async with httpx.AsyncClient(base_url=server.base, headers=auth(full_key)) as api:
                hook = {"url": receiver.url("/slow"), "events": ["verification.completed"]}
                webhook = data(await api.post("/v1/webhooks", json=hook), 201)
                for _ in range(3):
                    session = data(
                        await api.post("/v1/sessions", json={"model": "mixed-30-v2"}), 201
                    )
                    data(await api.post(f"/v1/sessions/{session['id']}/result", json=LIVE))
                await receiver.wait_for(3, within=60)
            # SIGTERM while the receiver still holds the three sends (it answers in 2 s).
            server.proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(server.proc.wait, 15)
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert server.proc.returncode in (0, -signal.SIGTERM), server.output
        assert "Traceback" not in server.output
    async with services.db.transaction() as tx:
        page = await DeliveryLogRepository(tx).list_page(
            webhook_id=webhook["id"], filters=DeliveryFilters(), limit=10
        )
    assert {(d.status, d.attempt_count) for d in page} == {(SUCCEEDED, 1)}, [
        (d.last_error, d.last_status_code) for d in page
    ]
    assert len(page) == 3, [(d.last_error, d.last_status_code) for d in page]
