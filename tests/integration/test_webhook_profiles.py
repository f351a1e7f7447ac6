"""A webhook's wire profile: chosen per endpoint or by the deployment, with the older
`signature_scheme` field still working for clients that predate profiles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from livehook.config import Settings
from livehook.services.registry import Services
from tests.support.app import build_services, create_app
from tests.support.deliveries import FakeClock, WorkerFactory
from tests.support.http import auth, data
from tests.support.receivers import running_receiver

HOOK = "http://127.0.0.1:9/hook"


async def create(client: httpx.AsyncClient, key: str, status: int = 201, **fields: Any) -> Any:
    answer = await client.post("/v1/webhooks", json={"url": HOOK} | fields, headers=auth(key))
    if status != 201:
        assert answer.status_code == status, answer.text
        return answer.json()
    return data(answer, 201)


@pytest.mark.parametrize(
    ("fields", "profile", "scheme"),
    [
        ({}, "livehook", "hmac-sha256"),
        ({"wire_profile": "verifyyou"}, "verifyyou", "hmac-sha256"),
        ({"signature_scheme": "standard-webhooks"}, "standard-webhooks", "standard-webhooks"),
        ({"signature_scheme": "hmac-sha256"}, "livehook", "hmac-sha256"),
        ({"wire_profile": "moveris", "signature_scheme": "hmac-sha256"}, "moveris", "hmac-sha256"),
    ],
)
async def test_profile_and_the_older_scheme_field_agree(
    client: httpx.AsyncClient, full_key: str, fields: dict[str, Any], profile: str, scheme: str
) -> None:
    created = await create(client, full_key, **fields)
    assert (created["wire_profile"], created["signature_scheme"]) == (profile, scheme)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"wire_profile": "verifyyou", "signature_scheme": "standard-webhooks"}, "wire_profile"),
        ({"wire_profile": "svix"}, "wire_profile"),
        ({"wire_profile": "verifeye", "events": ["liveness.started"]}, "events"),
        ({"wire_profile": "verifyyou", "events": ["webhook.disabled"]}, "events"),
    ],
)
async def test_a_profile_at_odds_with_the_request_is_a_clear_422(
    client: httpx.AsyncClient, full_key: str, fields: dict[str, Any], field: str
) -> None:
    answer = await create(client, full_key, 422, **fields)
    assert answer["success"] is False and field in str(answer)


async def test_changing_the_profile_brings_its_scheme_and_keeps_the_rest(
    client: httpx.AsyncClient, full_key: str
) -> None:
    created = await create(
        client, full_key, signature_scheme="standard-webhooks", model="mixed-10-v2"
    )
    path = f"/v1/webhooks/{created['id']}"
    changed = data(
        await client.patch(path, json={"wire_profile": "moveris"}, headers=auth(full_key))
    )
    assert (changed["wire_profile"], changed["signature_scheme"]) == ("moveris", "hmac-sha256")
    kept = data(await client.patch(path, json={"description": "x"}, headers=auth(full_key)))
    assert kept["wire_profile"] == "moveris" and kept["model"] == "mixed-10-v2"
    # An older client sending back the scheme it was shown changes nothing.
    same = data(
        await client.patch(path, json={"signature_scheme": "hmac-sha256"}, headers=auth(full_key))
    )
    assert same["wire_profile"] == "moveris"
    back = data(
        await client.patch(
            path, json={"signature_scheme": "standard-webhooks"}, headers=auth(full_key)
        )
    )
    assert back["wire_profile"] == "standard-webhooks"


async def test_a_test_event_the_profile_does_not_send_is_refused(
    client: httpx.AsyncClient, full_key: str
) -> None:
    created = await create(client, full_key, wire_profile="verifeye")
    answer = await client.post(
        f"/v1/webhooks/{created['id']}/test",
        json={"event_type": "liveness.started"},
        headers=auth(full_key),
    )
    assert answer.status_code == 422 and "VerificationCompleted" not in answer.text
    assert "does not send liveness.started" in answer.text


@pytest.fixture
async def moveris_deployment(settings: Settings) -> AsyncIterator[Services]:
    """A deployment whose default profile is moveris and whose agent is its own."""
    custom = settings.replace(wire_profile="moveris", user_agent="Acme-Hooks/3")
    built = build_services(custom)
    try:
        yield built
    finally:
        await built.db.dispose()


async def test_the_deployment_default_profile_and_agent_apply(
    settings: Settings, moveris_deployment: Services
) -> None:
    custom = settings.replace(wire_profile="moveris", user_agent="Acme-Hooks/3")
    app = create_app(custom, moveris_deployment)
    transport = httpx.ASGITransport(app=app)
    key = (await moveris_deployment.keys.create(account_name="acme")).plaintext
    factory = WorkerFactory(moveris_deployment)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://livehook.test") as client,
        running_receiver() as receiver,
    ):
        body = {"url": receiver.url("/ok")}
        created = data(await client.post("/v1/webhooks", json=body, headers=auth(key)), 201)
        assert created["wire_profile"] == "moveris"
        test = await client.post(f"/v1/webhooks/{created['id']}/test", headers=auth(key))
        data(test, 202)
        await factory(FakeClock(datetime.now(UTC) + timedelta(minutes=1))).run_burst()
        await factory.close()
    [got] = receiver.received
    assert got.header("User-Agent") == "Acme-Hooks/3"


def test_an_unknown_deployment_profile_is_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="unknown wire profile"):
        Settings(wire_profile="svix")
    with pytest.raises(ValueError, match="one non-empty line"):
        Settings(user_agent="a\r\nX-Evil: 1")


async def test_thin_applies_only_where_the_body_is_livehooks(
    client: httpx.AsyncClient, full_key: str
) -> None:
    for profile in ("verifeye", "verifyyou"):
        answer = await create(client, full_key, 422, wire_profile=profile, payload_format="thin")
        assert "payload_format" in str(answer) and "does not apply" in answer["message"]
        session = await client.post(
            "/v1/sessions",
            json={
                "model": "mixed-30-v2",
                "callback_url": HOOK,
                "callback_profile": profile,
                "callback_format": "thin",
            },
            headers=auth(full_key),
        )
        assert session.status_code == 422 and "does not apply" in session.text
    thin = await create(client, full_key, wire_profile="moveris", payload_format="thin")
    assert thin["payload_format"] == "thin"


async def test_a_verifeye_webhook_retries_once_unless_it_names_a_policy(
    client: httpx.AsyncClient, full_key: str
) -> None:
    assert (await create(client, full_key, wire_profile="verifeye"))["retry_policy"] == "once"
    named = await create(
        client, full_key, wire_profile="verifeye", retry_policy=[5, 60], model="mixed-10-v2"
    )
    assert named["retry_policy"] == [5, 60]
    assert (await create(client, full_key, model="mixed-60-v2"))["retry_policy"] == "standard"
