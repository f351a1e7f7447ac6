"""`Idempotency-Key` on every write route, not only the session ones; keys kept 24 hours."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from livehook.delivery.config import WorkerConfig
from livehook.delivery.sender import Sender
from livehook.delivery.worker import Worker
from livehook.services.registry import Services
from livehook.storage.repositories.idempotency import KEY_TTL, prune_keys
from livehook.storage.tables import idempotency_keys
from tests.support.deliveries import FakeClock
from tests.support.http import auth, data, error
from tests.support.sessions import create_webhook

Request = Callable[[httpx.AsyncClient, str], Awaitable[tuple[str, str, Any]]]


async def _webhook_id(client: httpx.AsyncClient, key: str) -> str:
    return str((await create_webhook(client, key, "target"))["id"])


async def create_webhook_request(client: httpx.AsyncClient, key: str) -> tuple[str, str, Any]:
    return "POST", "/v1/webhooks", {"url": "http://127.0.0.1:9/new"}


async def update_webhook(client: httpx.AsyncClient, key: str) -> tuple[str, str, Any]:
    return "PATCH", f"/v1/webhooks/{await _webhook_id(client, key)}", {"description": "x"}


async def delete_webhook(client: httpx.AsyncClient, key: str) -> tuple[str, str, Any]:
    return "DELETE", f"/v1/webhooks/{await _webhook_id(client, key)}", None


async def rotate(client: httpx.AsyncClient, key: str) -> tuple[str, str, Any]:
    path = f"/v1/webhooks/{await _webhook_id(client, key)}/rotate-secret"
    return "POST", path, {"overlap_seconds": 60}


async def send_test(client: httpx.AsyncClient, key: str) -> tuple[str, str, Any]:
    return "POST", f"/v1/webhooks/{await _webhook_id(client, key)}/test", None


async def recover(client: httpx.AsyncClient, key: str) -> tuple[str, str, Any]:
    path = f"/v1/webhooks/{await _webhook_id(client, key)}/recover"
    return "POST", path, {"since": "2020-01-01T00:00:00Z"}


async def create_key(client: httpx.AsyncClient, key: str) -> tuple[str, str, Any]:
    return "POST", "/v1/keys", {"name": "ci"}


async def revoke_key(client: httpx.AsyncClient, key: str) -> tuple[str, str, Any]:
    created = data(await client.post("/v1/keys", json={"name": "old"}, headers=auth(key)), 201)
    return "DELETE", f"/v1/keys/{created['id']}", None


async def mint_portal_link(client: httpx.AsyncClient, key: str) -> tuple[str, str, Any]:
    return "POST", "/v1/portal-links", {"capabilities": ["view"]}


async def rotate_callback_secret(client: httpx.AsyncClient, key: str) -> tuple[str, str, Any]:
    me = data(await client.get("/v1/me", headers=auth(key)))
    return "POST", f"/v1/keys/{me['key_id']}/rotate-callback-secret", {"overlap_seconds": 60}


WRITES: list[Request] = [
    create_webhook_request,
    update_webhook,
    delete_webhook,
    rotate,
    send_test,
    recover,
    create_key,
    revoke_key,
    mint_portal_link,
    rotate_callback_secret,
]


@pytest.mark.parametrize("write", WRITES, ids=lambda w: w.__name__)
async def test_every_write_replays_its_first_answer_for_the_same_key(
    client: httpx.AsyncClient, full_key: str, write: Request
) -> None:
    method, path, body = await write(client, full_key)
    headers = auth(full_key) | {"Idempotency-Key": f"retry-{write.__name__}"}
    first = await client.request(method, path, json=body, headers=headers)
    assert first.status_code < 300, first.text
    again = await client.request(method, path, json=body, headers=headers)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    if method == "PATCH":  # the key is bound to its first body
        other = await client.request(method, path, json={"description": "y"}, headers=headers)
        error(other, 409, "idempotency_conflict")


async def test_a_replayed_webhook_secret_is_not_stored_in_clear(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    headers = auth(full_key) | {"Idempotency-Key": "create-once"}
    body = {"url": "http://127.0.0.1:9/secret"}
    first = data(await client.post("/v1/webhooks", json=body, headers=headers), 201)
    again = data(await client.post("/v1/webhooks", json=body, headers=headers), 201)
    assert again["secret"] == first["secret"]
    async with services.db.transaction() as tx:
        stored = (await tx.conn.execute(select(idempotency_keys.c.response_body))).scalars().all()
    assert stored and all(first["secret"] not in text for text in stored)


@pytest.mark.parametrize(
    ("path", "field"),
    [("/v1/portal-links", "url"), ("rotate-callback-secret", "callback_secret")],
)
async def test_replayed_sign_in_links_and_callback_secrets_are_not_stored_in_clear(
    client: httpx.AsyncClient, services: Services, full_key: str, path: str, field: str
) -> None:
    if path == "rotate-callback-secret":
        me = data(await client.get("/v1/me", headers=auth(full_key)))
        path = f"/v1/keys/{me['key_id']}/rotate-callback-secret"
    headers = auth(full_key) | {"Idempotency-Key": "reveal-once"}
    first = await client.post(path, json={}, headers=headers)
    again = await client.post(path, json={}, headers=headers)
    assert first.status_code in (200, 201), first.text
    assert again.content == first.content
    shown = first.json()["data"][field]
    async with services.db.transaction() as tx:
        stored = (await tx.conn.execute(select(idempotency_keys.c.response_body))).scalars().all()
    assert stored and all(shown not in text for text in stored)


async def test_keys_older_than_a_day_are_pruned_and_newer_ones_kept(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    for name in ("a", "b"):
        headers = auth(full_key) | {"Idempotency-Key": name}
        data(await client.post("/v1/keys", json={"name": name}, headers=headers), 201)
    now = datetime.now(UTC)
    assert await prune_keys(services.db, now=now + KEY_TTL - timedelta(minutes=1)) == 0
    assert (
        await prune_keys(services.db, now=now + KEY_TTL + timedelta(minutes=1), batch_size=1) == 2
    )
    async with services.db.transaction() as tx:
        left = await tx.conn.scalar(select(func.count()).select_from(idempotency_keys))
    assert left == 0


async def test_the_workers_retention_pass_prunes_old_keys(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    data(
        await client.post(
            "/v1/keys", json={"name": "k"}, headers=auth(full_key) | {"Idempotency-Key": "old"}
        ),
        201,
    )
    clock = FakeClock(datetime.now(UTC) + KEY_TTL + timedelta(hours=1))
    sender = Sender(allow_local=True)
    worker = Worker(
        services.db, services.webhooks, services.box, sender, config=WorkerConfig(), clock=clock
    )
    try:
        await worker.run_burst()
    finally:
        await worker.close()
    async with services.db.transaction() as tx:
        left = await tx.conn.scalar(select(func.count()).select_from(idempotency_keys))
    assert left == 0
