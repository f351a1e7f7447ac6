"""Idempotency-Key on every session POST: retries replay the first answer, never a second event."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from livehook.services.registry import Services
from livehook.storage.repositories.idempotency import IdempotencyRepository
from tests.support.http import auth, data, error
from tests.support.sessions import FAILURE, LIVE, MODEL, create_session, event_rows


def keyed(key: str, idempotency_key: str) -> dict[str, str]:
    return auth(key) | {"Idempotency-Key": idempotency_key}


async def target(client: httpx.AsyncClient, key: str, endpoint: str) -> tuple[str, dict[str, Any]]:
    """The path and a valid body for one of the four POSTs."""
    if endpoint == "create":
        return "/v1/sessions", {"model": MODEL, "tenant_metadata": {"b": 2, "a": 1}}
    session_id = (await create_session(client, key))["id"]
    body = {"stages": {"stage": "verification.started"}, "result": LIVE, "failure": FAILURE}
    return f"/v1/sessions/{session_id}/{endpoint}", body[endpoint]


ENDPOINTS = ["create", "stages", "result", "failure"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_retry_with_the_same_key_and_body_replays_the_first_answer(
    client: httpx.AsyncClient, services: Services, full_key: str, endpoint: str
) -> None:
    path, body = await target(client, full_key, endpoint)
    first = await client.post(path, json=body, headers=keyed(full_key, "retry-1"))
    events_after_first = await event_rows(services.db)

    again = await client.post(path, json=body, headers=keyed(full_key, "retry-1"))

    assert first.status_code == again.status_code == (201 if endpoint == "create" else 200)
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await event_rows(services.db) == events_after_first


async def test_same_body_in_another_key_order_and_spacing_is_the_same_request(
    client: httpx.AsyncClient, full_key: str
) -> None:
    headers = keyed(full_key, "order") | {"Content-Type": "application/json"}
    first = await client.post(
        "/v1/sessions", content=b'{"model":"mixed-30-v2","external_id":"u1"}', headers=headers
    )
    again = await client.post(
        "/v1/sessions",
        content=b'{ "external_id" : "u1",\n  "model" : "mixed-30-v2" }',
        headers=headers,
    )
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_same_key_with_another_body_is_409_idempotency_conflict(
    client: httpx.AsyncClient, services: Services, full_key: str, endpoint: str
) -> None:
    path, body = await target(client, full_key, endpoint)
    data(
        await client.post(path, json=body, headers=keyed(full_key, "k")),
        201 if endpoint == "create" else 200,
    )
    events = await event_rows(services.db)
    changed = body | ({"model": "mixed-60-v2"} if endpoint == "create" else {})
    changed |= {"trust_score": 0.5} if endpoint == "stages" else {}
    changed |= {"real_score": 0.5} if endpoint == "result" else {}
    changed |= {"code": "other_error"} if endpoint == "failure" else {}

    body_error = error(
        await client.post(path, json=changed, headers=keyed(full_key, "k")),
        409,
        "idempotency_conflict",
    )
    assert "different request" in body_error["message"]
    assert await event_rows(services.db) == events


async def test_same_key_on_another_path_is_409(client: httpx.AsyncClient, full_key: str) -> None:
    one = (await create_session(client, full_key))["id"]
    two = (await create_session(client, full_key))["id"]
    body = {"stage": "verification.started"}
    headers = keyed(full_key, "k")
    data(await client.post(f"/v1/sessions/{one}/stages", json=body, headers=headers))
    response = await client.post(f"/v1/sessions/{two}/stages", json=body, headers=headers)
    error(response, 409, "idempotency_conflict")


async def test_keys_are_per_account(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    foreign = (await services.keys.create(account_name="globex")).plaintext
    mine = data(
        await client.post("/v1/sessions", json={"model": MODEL}, headers=keyed(full_key, "k")), 201
    )
    theirs = await client.post("/v1/sessions", json={"model": MODEL}, headers=keyed(foreign, "k"))
    assert data(theirs, 201)["id"] != mine["id"]
    assert "idempotent-replayed" not in theirs.headers


async def test_a_refused_request_does_not_use_up_its_key(
    client: httpx.AsyncClient, full_key: str
) -> None:
    """Only answers of committed work are stored: a refusal changed nothing, so the key is free."""
    session_id = (await create_session(client, full_key))["id"]
    path = f"/v1/sessions/{session_id}/stages"
    headers = keyed(full_key, "k")
    refused = await client.post(path, json={"stage": "liveness.cancelled"}, headers=headers)
    error(refused, 409, "conflict")
    accepted = await client.post(path, json={"stage": "verification.started"}, headers=headers)
    assert data(accepted)["stage"] == "verification.started"


@pytest.mark.parametrize("endpoint", ["create", "stages"])
async def test_concurrent_duplicates_yield_one_event_and_identical_answers(
    client: httpx.AsyncClient, services: Services, full_key: str, endpoint: str
) -> None:
    path, body = await target(client, full_key, endpoint)
    events_before = len(await event_rows(services.db))
    responses = await asyncio.gather(
        *(client.post(path, json=body, headers=keyed(full_key, "race")) for _ in range(8))
    )
    assert {r.status_code for r in responses} == {201 if endpoint == "create" else 200}
    assert len({r.content for r in responses}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    assert len(await event_rows(services.db)) == events_before + 1


async def test_concurrent_different_bodies_under_one_key_yield_one_winner(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    responses = await asyncio.gather(
        *(
            client.post(
                "/v1/sessions",
                json={"model": MODEL, "external_id": f"u{n}"},
                headers=keyed(full_key, "race"),
            )
            for n in range(6)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5
    for response in responses:
        if response.status_code == 409:
            error(response, 409, "idempotency_conflict")
    assert len(await event_rows(services.db)) == 1


@pytest.mark.parametrize("bad", ["has space", "caf\u00e9", "x" * 256, ""])
async def test_unusable_key_is_422(client: httpx.AsyncClient, full_key: str, bad: str) -> None:
    headers = auth(full_key) | {"Idempotency-Key": bad}
    response = await client.post(
        "/v1/sessions", json={"model": MODEL}, headers=[(k, v.encode()) for k, v in headers.items()]
    )
    body = error(response, 422)
    assert "Idempotency-Key" in body["message"] or "idempotency-key" in body["message"].lower()


async def test_pruned_keys_can_be_used_again(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    first = data(
        await client.post("/v1/sessions", json={"model": MODEL}, headers=keyed(full_key, "k")), 201
    )
    async with services.db.transaction() as tx:
        later = datetime.now(UTC) + timedelta(seconds=1)
        assert await IdempotencyRepository(tx).prune(later) == 1
    again = await client.post("/v1/sessions", json={"model": MODEL}, headers=keyed(full_key, "k"))
    assert data(again, 201)["id"] != first["id"]
