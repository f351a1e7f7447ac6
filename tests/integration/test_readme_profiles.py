"""The README's receiver snippet of each wire profile, run as copied against real deliveries
(verifeye's, which calls a running server, runs in tests/e2e/test_first_start_callbacks.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from livehook.receiver import verify
from livehook.services.registry import Services
from tests.support.deliveries import FakeClock, WorkerFactory
from tests.support.http import auth, data
from tests.support.readme import profile_snippets
from tests.support.receivers import Receiver
from tests.support.sessions import post_failure, post_result, post_stage

PRINTS = {"livehook": 1, "moveris": 1, "verifyyou": 6, "standard-webhooks": 0}


def test_the_readme_has_a_receiver_for_every_profile() -> None:
    assert set(profile_snippets()) == {*PRINTS, "verifeye"}


@pytest.mark.parametrize("profile", list(PRINTS))
async def test_the_readme_receiver_reads_real_deliveries(
    profile: str,
    client: httpx.AsyncClient,
    services: Services,
    full_key: str,
    receiver: Receiver,
) -> None:
    hook = {"url": receiver.url("/ok"), "wire_profile": profile}
    secret = data(await client.post("/v1/webhooks", json=hook, headers=auth(full_key)), 201)[
        "secret"
    ]
    for ending in ("result", "failure"):
        created = await client.post(
            "/v1/sessions",
            json={"model": "mixed-30-v2", "external_tracker": "launch"},
            headers=auth(full_key),
        )
        session = data(created, 201)["id"]
        data(await post_stage(client, full_key, session, "liveness.started", trust_score=0.7))
        post = post_result if ending == "result" else post_failure
        data(await post(client, full_key, session))
    factory = WorkerFactory(services)
    await factory(FakeClock(datetime.now(UTC) + timedelta(minutes=1))).run_burst()
    await factory.close()

    printed: list[tuple[Any, ...]] = []
    for got in receiver.received:
        scope = {
            "verify": verify,
            "raw_body": got.body,
            "headers": got.headers,
            "SECRET": secret,
            "print": lambda *values: printed.append(values),
        }
        exec(profile_snippets()[profile], scope)
        assert isinstance(scope["event"], dict)
    assert receiver.received and len(printed) == PRINTS[profile], printed
