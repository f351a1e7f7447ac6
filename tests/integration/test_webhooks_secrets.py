"""Signing secrets: shown once, encrypted at rest, rotated with an overlap."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from livehook.services.registry import Services
from livehook.storage.tables import metadata
from tests.support.http import auth, data, error

pytestmark = pytest.mark.usefixtures("no_dns")

HOOK = "https://hooks.acme.example/livehook"
HEADER_VALUES = {"Authorization": "Bearer receiver-credential-8f3a", "X-Tenant": "tenant-b7c1"}


async def create(client: httpx.AsyncClient, key: str, **fields: Any) -> Any:
    body = {"url": HOOK} | fields
    return data(await client.post("/v1/webhooks", json=body, headers=auth(key)), 201)


async def rotate(
    client: httpx.AsyncClient, key: str, webhook_id: str, body: Any = None, status: int = 200
) -> Any:
    path = f"/v1/webhooks/{webhook_id}/rotate-secret"
    response = await client.post(path, json=body, headers=auth(key))
    return data(response, status) if status < 400 else error(response, status)


async def signing_secrets(services: Services, webhook_id: str, now: datetime) -> list[str]:
    async with services.db.transaction() as tx:
        return await services.webhooks.signing_secrets(tx, webhook_id, now)


def at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


# --- shown once -------------------------------------------------------------------------------


async def test_secret_appears_only_in_the_create_response(
    client: httpx.AsyncClient,
    full_key: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    created = await create(client, full_key, headers=HEADER_VALUES)
    secret = created["secret"]
    path = f"/v1/webhooks/{created['id']}"
    later = [
        await client.get(path, headers=auth(full_key)),
        await client.get("/v1/webhooks", headers=auth(full_key)),
        await client.patch(path, json={"description": "d"}, headers=auth(full_key)),
        await client.patch(path, json={"status": "disabled"}, headers=auth(full_key)),
        await client.post("/v1/webhooks", json={"url": HOOK}, headers=auth(full_key)),  # 409
        await client.post(f"{path}/rotate-secret", headers=auth(full_key)),
        await client.get(path, headers=auth(full_key)),
    ]
    assert [r.status_code for r in later] == [200, 200, 200, 200, 409, 200, 200]
    for response in later:
        assert secret not in response.text and secret not in str(response.headers)
    captured = capsys.readouterr()
    assert secret not in caplog.text + captured.out + captured.err


async def test_rotate_returns_a_new_secret_once(client: httpx.AsyncClient, full_key: str) -> None:
    created = await create(client, full_key)
    rotated = await rotate(client, full_key, created["id"])
    new = rotated["secret"]
    assert new.startswith("whsec_") and new != created["secret"]
    assert len(base64.b64decode(new.removeprefix("whsec_"), validate=True)) >= 24
    assert rotated["id"] == created["id"] and rotated["url"] == created["url"]
    path = f"/v1/webhooks/{created['id']}"
    for response in (
        await client.get(path, headers=auth(full_key)),
        await client.get("/v1/webhooks", headers=auth(full_key)),
        await client.patch(path, json={"description": "after"}, headers=auth(full_key)),
    ):
        assert new not in response.text and created["secret"] not in response.text


async def test_no_secret_or_header_value_is_stored_in_plain_text(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    first = await create(client, full_key, headers=HEADER_VALUES)
    second = await create(client, full_key, url=f"{HOOK}/2", signature_scheme="standard-webhooks")
    rotated = await rotate(client, full_key, first["id"])
    updated_headers = HEADER_VALUES | {"X-Later": "patched-value-4d2e"}
    response = await client.patch(
        f"/v1/webhooks/{second['id']}", json={"headers": updated_headers}, headers=auth(full_key)
    )
    data(response)
    secrets = [first["secret"], second["secret"], rotated["secret"]]
    # The raw base64 part too: an encoding that drops the prefix must not slip through.
    needles = secrets + [s.removeprefix("whsec_") for s in secrets] + list(updated_headers.values())
    dumped: list[str] = []
    async with services.db.transaction() as tx:
        for table in metadata.sorted_tables:
            rows = (await tx.conn.execute(select(table))).all()
            dumped.append(f"{table.name}: {rows!r}")
    dump = "\n".join(dumped)
    assert "webhook_secrets" in dump and first["id"] in dump  # the dump did see the rows
    assert [n for n in needles if n in dump] == []


# --- rotation overlap -------------------------------------------------------------------------


async def test_new_webhook_signs_with_its_one_secret(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    created = await create(client, full_key)
    now = at(created["created_at"])
    assert await signing_secrets(services, created["id"], now) == [created["secret"]]
    far = now + timedelta(days=365)
    assert await signing_secrets(services, created["id"], far) == [created["secret"]]


async def test_both_secrets_sign_during_the_overlap_then_only_the_new_one(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    created = await create(client, full_key)
    rotated = await rotate(client, full_key, created["id"], {"overlap_seconds": 3600})
    ends = at(rotated["previous_secret_expires_at"])
    rotated_at = ends - timedelta(hours=1)
    assert abs(rotated_at - datetime.now(UTC)) < timedelta(minutes=1)
    both = [rotated["secret"], created["secret"]]  # the new one first
    for now in (rotated_at, rotated_at + timedelta(minutes=30), ends - timedelta(seconds=1)):
        assert await signing_secrets(services, created["id"], now) == both, now
    for now in (ends, ends + timedelta(seconds=1), ends + timedelta(days=30)):
        assert await signing_secrets(services, created["id"], now) == [rotated["secret"]], now


async def test_default_overlap_is_24_hours(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    created = await create(client, full_key)
    before = datetime.now(UTC)
    rotated = await rotate(client, full_key, created["id"])  # no body at all
    ends = at(rotated["previous_secret_expires_at"])
    assert before + timedelta(hours=24) <= ends <= datetime.now(UTC) + timedelta(hours=24)
    empty_body = await rotate(client, full_key, created["id"], {})
    assert at(empty_body["previous_secret_expires_at"]) >= ends


async def test_overlap_of_zero_retires_the_old_secret_at_once(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    created = await create(client, full_key)
    rotated = await rotate(client, full_key, created["id"], {"overlap_seconds": 0})
    assert rotated["previous_secret_expires_at"] is None
    now = datetime.now(UTC)
    assert await signing_secrets(services, created["id"], now) == [rotated["secret"]]


async def test_overlap_of_seven_days_is_the_maximum(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    created = await create(client, full_key)
    rotated = await rotate(client, full_key, created["id"], {"overlap_seconds": 7 * 86400})
    ends = at(rotated["previous_secret_expires_at"])
    six_days = ends - timedelta(days=1)
    assert len(await signing_secrets(services, created["id"], six_days)) == 2


@pytest.mark.parametrize("overlap", [-1, 7 * 86400 + 1, 8 * 86400, "1h", 1.5])
async def test_overlap_out_of_range_is_422_and_keeps_the_secret(
    client: httpx.AsyncClient, services: Services, full_key: str, overlap: Any
) -> None:
    created = await create(client, full_key)
    body = await rotate(client, full_key, created["id"], {"overlap_seconds": overlap}, status=422)
    assert "overlap_seconds" in body["message"]
    now = datetime.now(UTC)
    assert await signing_secrets(services, created["id"], now) == [created["secret"]]


async def test_rotating_many_times_keeps_at_most_three_previous_secrets(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    created = await create(client, full_key)
    issued = [created["secret"]]
    for _ in range(6):
        rotated = await rotate(client, full_key, created["id"], {"overlap_seconds": 86400})
        issued.append(rotated["secret"])
    assert len(set(issued)) == 7
    now = datetime.now(UTC)
    # Newest first: the current secret, then the three most recent previous ones.
    assert await signing_secrets(services, created["id"], now) == issued[::-1][:4]


async def test_an_older_rotation_keeps_its_own_expiry(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    created = await create(client, full_key)
    first = await rotate(client, full_key, created["id"], {"overlap_seconds": 600})
    second = await rotate(client, full_key, created["id"], {"overlap_seconds": 86400})
    first_ends = at(first["previous_secret_expires_at"])
    three = [second["secret"], first["secret"], created["secret"]]
    assert await signing_secrets(services, created["id"], first_ends - timedelta(seconds=1)) == (
        three
    )
    assert await signing_secrets(services, created["id"], first_ends) == three[:2]


async def test_deleting_a_webhook_deletes_its_secrets(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    created = await create(client, full_key)
    await rotate(client, full_key, created["id"])
    data(await client.delete(f"/v1/webhooks/{created['id']}", headers=auth(full_key)))
    assert await signing_secrets(services, created["id"], datetime.now(UTC)) == []
