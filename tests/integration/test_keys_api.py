"""API keys over the API: secrets shown once, scopes, pagination, revocation."""

from __future__ import annotations

import httpx

from livehook.services.registry import Services
from tests.support.http import auth, data, error


async def test_created_key_is_shown_once_and_works(
    client: httpx.AsyncClient, full_key: str
) -> None:
    created = data(
        await client.post(
            "/v1/keys",
            json={"name": "reporting", "scopes": ["stats:read", "sessions:read"]},
            headers=auth(full_key),
        ),
        201,
    )
    assert created["key"].startswith("lh_") and created["callback_secret"].startswith("whsec_")
    assert created["scopes"] == ["sessions:read", "stats:read"]  # catalog order
    me = data(await client.get("/v1/me", headers=auth(created["key"])))
    assert me["key_id"] == created["id"]

    listed = data(await client.get("/v1/keys", headers=auth(full_key)))
    text = str(listed)
    assert created["key"] not in text and created["callback_secret"] not in text
    assert created["key"][:11] in text  # the display prefix only


async def test_key_list_is_cursor_paginated(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    for n in range(4):
        await services.keys.create(account_name="acme", name=f"k{n}")
    await services.keys.create(account_name="globex", name="foreign")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = data(await client.get("/v1/keys", params=params, headers=auth(full_key)))
        seen += [k["name"] for k in page["items"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert sorted(seen) == ["admin", "k0", "k1", "k2", "k3"]


async def test_unknown_scope_is_422_naming_it(client: httpx.AsyncClient, full_key: str) -> None:
    response = await client.post("/v1/keys", json={"scopes": ["root"]}, headers=auth(full_key))
    assert "root" in error(response, 422)["message"]


async def test_page_limit_out_of_range_is_422(client: httpx.AsyncClient, full_key: str) -> None:
    error(await client.get("/v1/keys?limit=0", headers=auth(full_key)), 422)
    error(await client.get("/v1/keys?limit=100000", headers=auth(full_key)), 422)


async def test_secrets_are_stored_hashed_and_encrypted(services: Services, full_key: str) -> None:
    from sqlalchemy import text

    created = await services.keys.create(account_name="acme", name="x")
    async with services.db.transaction() as tx:
        rows = (await tx.conn.execute(text("SELECT * FROM api_keys"))).all()
    dump = repr(rows)
    for secret in (full_key, created.plaintext, created.callback_secret):
        assert secret not in dump
