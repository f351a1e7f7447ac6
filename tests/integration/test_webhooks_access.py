"""Who may do what to webhooks: scopes per route, and accounts that cannot see each other."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from livehook.domain.scopes import ALL_SCOPES
from livehook.services.registry import Services
from tests.support.http import auth, data, error

pytestmark = pytest.mark.usefixtures("no_dns")

HOOK = "https://hooks.acme.example/livehook"
READ, WRITE = "webhooks:read", "webhooks:write"


async def create(client: httpx.AsyncClient, key: str, url: str = HOOK) -> Any:
    return data(await client.post("/v1/webhooks", json={"url": url}, headers=auth(key)), 201)


def routes(webhook_id: str) -> list[tuple[str, str, str, dict[str, Any] | None]]:
    """(method, path, scope needed, JSON body) for every webhook route."""
    one = f"/v1/webhooks/{webhook_id}"
    return [
        ("GET", "/v1/webhooks", READ, None),
        ("GET", one, READ, None),
        ("POST", "/v1/webhooks", WRITE, {"url": f"{HOOK}/new"}),
        ("PATCH", one, WRITE, {"description": "changed"}),
        ("POST", f"{one}/rotate-secret", WRITE, {"overlap_seconds": 60}),
        ("DELETE", one, WRITE, None),  # last: the others need the webhook
    ]


@pytest.mark.parametrize(
    "scopes",
    [[], [READ], [WRITE], [READ, WRITE], *([s] for s in ALL_SCOPES if s not in (READ, WRITE))],
    ids=lambda scopes: ",".join(scopes) or "full-access",
)
async def test_each_route_checks_its_scope(
    client: httpx.AsyncClient, services: Services, full_key: str, scopes: list[str]
) -> None:
    target = await create(client, full_key)
    key = (await services.keys.create(account_name="acme", scopes=scopes)).plaintext
    full = not scopes
    outcomes: list[tuple[str, str, int]] = []
    for method, path, needed, body in routes(target["id"]):
        response = await client.request(method, path, json=body, headers=auth(key))
        outcomes.append((method, path, response.status_code))
        if full or needed in scopes:
            assert response.status_code in (200, 201), (method, path, response.text)
        else:
            message = error(response, 403, "forbidden")["message"]
            assert f"`{needed}`" in message, (method, path, message)
    allowed = sum(status < 300 for *_, status in outcomes)
    expected = sum(full or needed in scopes for _, _, needed, _ in routes(target["id"]))
    assert allowed == expected


async def test_every_route_needs_a_key(client: httpx.AsyncClient, full_key: str) -> None:
    target = await create(client, full_key)
    for method, path, _, body in routes(target["id"]):
        response = await client.request(method, path, json=body)
        error(response, 401, "unauthorized")
        bad = await client.request(method, path, json=body, headers=auth("lh_not_a_key"))
        error(bad, 401, "unauthorized")
    assert data(await client.get(f"/v1/webhooks/{target['id']}", headers=auth(full_key)))


async def test_revoked_key_loses_access_to_webhooks(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    other = await services.keys.create(account_name="acme", name="ci")
    created = await create(client, other.plaintext)
    data(await client.delete(f"/v1/keys/{other.key.id}", headers=auth(full_key)))
    error(await client.get("/v1/webhooks", headers=auth(other.plaintext)), 401)
    # The webhook itself stays, visible to the account.
    assert data(await client.get(f"/v1/webhooks/{created['id']}", headers=auth(full_key)))


async def test_another_account_sees_nothing_and_gets_404_for_every_id(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    ours = await create(client, full_key)
    foreign_key = (await services.keys.create(account_name="globex")).plaintext
    theirs = await create(client, foreign_key)  # the same URL: another account, another key
    listed = data(await client.get("/v1/webhooks", headers=auth(foreign_key)))
    assert [w["id"] for w in listed["items"]] == [theirs["id"]]
    for method, path, _, body in routes(ours["id"]):
        if ours["id"] not in path:
            continue
        response = await client.request(method, path, json=body, headers=auth(foreign_key))
        assert ours["id"] in error(response, 404, "not_found")["message"]
    # Nothing of ours changed: same secret, same description, still there.
    kept = data(await client.get(f"/v1/webhooks/{ours['id']}", headers=auth(full_key)))
    assert kept["description"] == "" and kept["updated_at"] == ours["updated_at"]
    async with services.db.transaction() as tx:
        signing = await services.webhooks.signing_secrets(tx, ours["id"], datetime.now(UTC))
    assert signing == [ours["secret"]]
    mine = data(await client.get("/v1/webhooks", headers=auth(full_key)))
    assert [w["id"] for w in mine["items"]] == [ours["id"]]


async def test_foreign_cursor_does_not_leak_another_accounts_webhooks(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    ours = await create(client, full_key)
    foreign_key = (await services.keys.create(account_name="globex")).plaintext
    page = data(
        await client.get(
            "/v1/webhooks", params={"cursor": "wh_0", "limit": 200}, headers=auth(foreign_key)
        )
    )
    assert ours["id"] not in str(page) and page["items"] == []


async def test_keys_of_one_account_share_their_webhooks_for_reading(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    writer = (await services.keys.create(account_name="acme", scopes=[WRITE])).plaintext
    reader = (await services.keys.create(account_name="acme", scopes=[READ])).plaintext
    by_admin = await create(client, full_key, f"{HOOK}/admin")
    by_writer = await create(client, writer, f"{HOOK}/writer")
    listed = data(await client.get("/v1/webhooks", headers=auth(reader)))
    assert [w["id"] for w in listed["items"]] == [by_admin["id"], by_writer["id"]]
    for created in (by_admin, by_writer):
        fetched = data(await client.get(f"/v1/webhooks/{created['id']}", headers=auth(reader)))
        assert fetched["api_key_id"] == created["api_key_id"] and "secret" not in fetched
