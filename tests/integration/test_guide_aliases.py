"""Each guide's API shapes on the way in answer exactly like the livehook routes they map to."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from livehook.services.registry import Services
from livehook.storage.tables import sessions
from tests.support.http import auth, data
from tests.support.sessions import post_result, post_stage

CALLBACK = "http://127.0.0.1:9/verifeye/callback"


async def test_result_lookup_by_verification_session_id_answers_like_get_session(
    client: httpx.AsyncClient, full_key: str
) -> None:
    created = await client.post(
        "/v1/sessions", json={"model": "mixed-30-v2"}, headers=auth(full_key)
    )
    session = data(created, 201)["id"]
    data(await post_stage(client, full_key, session, "liveness.started"))
    data(await post_result(client, full_key, session))

    own = await client.get(f"/v1/sessions/{session}", headers=auth(full_key))
    alias = await client.get(
        f"/v1/verification/get-session-result?verificationSessionId={session}",
        headers=auth(full_key, "ApiKey"),
    )
    assert (
        (alias.status_code, alias.content) == (own.status_code, own.content) == (200, own.content)
    )
    assert alias.json()["data"]["result"]["verdict"] == "live"


async def test_result_lookup_is_404_like_get_session_for_anothers_or_unknown_session(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    created = await client.post(
        "/v1/sessions", json={"model": "mixed-30-v2"}, headers=auth(full_key)
    )
    session = data(created, 201)["id"]
    other = (await services.keys.create(account_name="other")).plaintext
    for ask in (session, "not-a-session"):
        own = await client.get(f"/v1/sessions/{ask}", headers=auth(other))
        alias = await client.get(
            "/v1/verification/get-session-result",
            params={"verificationSessionId": ask},
            headers=auth(other, "ApiKey"),
        )
        assert (alias.status_code, alias.json()) == (own.status_code, own.json())
        assert alias.status_code == 404
    missing = await client.get("/v1/verification/get-session-result", headers=auth(full_key))
    assert missing.status_code == 422 and "verificationSessionId" in missing.text


async def test_webhook_config_event_callback_url_is_callback_url(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    alias = {"model": "mixed-30-v2", "webhookConfig": {"eventCallbackUrl": CALLBACK}}
    own = {"model": "mixed-30-v2", "callback_url": CALLBACK}
    made = [
        data(await client.post("/v1/sessions", json=body, headers=auth(full_key)), 201)
        for body in (alias, own)
    ]
    ignored = {"id", "created_at", "updated_at", "stages"}
    assert [{k: v for k, v in m.items() if k not in ignored} for m in made] == [
        {k: v for k, v in made[1].items() if k not in ignored}
    ] * 2
    assert made[0]["callback_url"] == CALLBACK
    async with services.db.transaction() as tx:
        stored = (await tx.conn.execute(select(sessions.c.callback_url))).scalars().all()
    assert stored == [CALLBACK, CALLBACK]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            {"callback_url": CALLBACK, "webhookConfig": {"eventCallbackUrl": CALLBACK + "2"}},
            "not both",
        ),
        ({"webhookConfig": {"eventCallbackUrl": "ftp://example.com/x"}}, "callback_url"),
        ({"webhookConfig": {"callbackUrl": CALLBACK}}, "callbackUrl"),
    ],
)
async def test_webhook_config_mistakes_are_clear_422s(
    client: httpx.AsyncClient, full_key: str, body: dict[str, object], words: str
) -> None:
    answer = await client.post(
        "/v1/sessions", json={"model": "mixed-30-v2"} | body, headers=auth(full_key)
    )
    assert answer.status_code == 422 and words in answer.text, answer.text


async def test_underscore_stage_names_report_the_same_stages(
    client: httpx.AsyncClient, full_key: str
) -> None:
    journeys = []
    for spelling in (
        ["verification_started", "consent_granted", "liveness_started", "liveness_cancelled"],
        ["verification.started", "consent.granted", "liveness.started", "liveness.cancelled"],
    ):
        created = await client.post(
            "/v1/sessions", json={"model": "mixed-30-v2"}, headers=auth(full_key)
        )
        session = data(created, 201)["id"]
        for stage in spelling:
            answer = data(await post_stage(client, full_key, session, stage))
        journeys.append(([s["stage"] for s in answer["stages"]], answer["status"]))
    assert journeys[0] == journeys[1]
    assert journeys[0][1] == "cancelled" and journeys[0][0][-1] == "liveness.cancelled"
    refused = await post_stage(client, full_key, session, "verification_completed")
    assert refused.status_code == 422 and "cannot be reported as a stage" in refused.text
