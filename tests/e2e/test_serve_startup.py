"""`livehook serve` on a shared database (the scale-out mode): the start-up work leaves nothing
behind that the server's own event loop would trip on."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from livehook.config import Settings
from livehook.services.registry import Services
from tests.support.http import auth
from tests.support.processes import env_sharing, serving


@pytest.mark.parametrize("run_worker", ["false", "true"])
async def test_serve_answers_its_first_requests_and_stops_without_a_traceback(
    settings: Settings, services: Services, full_key: str, run_worker: str
) -> None:
    env = env_sharing(settings, LIVEHOOK_RUN_WORKER=run_worker)
    await services.db.dispose()  # this test's own pool holds no connection meanwhile
    with serving(env) as server:
        async with httpx.AsyncClient(base_url=server.base, headers=auth(full_key)) as api:
            answers = await asyncio.gather(*(api.get("/v1/me") for _ in range(20)))
            assert [a.status_code for a in answers] == [200] * 20
            assert (await api.get("/readyz")).status_code == 200
    assert "Traceback" not in server.output, server.output
    assert "Event loop is closed" not in server.output, server.output
