"""Webhook endpoints over the API: create, list, get, update, delete, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest

from livehook.services.registry import Services
from tests.support.http import auth, data, error

pytestmark = pytest.mark.usefixtures("no_dns")

HOOK = "https://hooks.acme.example/livehook"


async def create(client: httpx.AsyncClient, key: str, status: int = 201, **fields: Any) -> Any:
    body = {"url": HOOK} | fields
    return data(await client.post("/v1/webhooks", json=body, headers=auth(key)), status)


async def patch(client: httpx.AsyncClient, key: str, webhook_id: str, **fields: Any) -> Any:
    return await client.patch(f"/v1/webhooks/{webhook_id}", json=fields, headers=auth(key))


async def get(client: httpx.AsyncClient, key: str, webhook_id: str) -> httpx.Response:
    return await client.get(f"/v1/webhooks/{webhook_id}", headers=auth(key))


# --- create, get, list, delete ------------------------------------------------------------


async def test_create_is_201_with_defaults_and_a_whsec_secret(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    created = await create(client, full_key)
    principal = await services.keys.authenticate(full_key)
    assert principal is not None
    assert created["id"].startswith("wh_") and created["api_key_id"] == principal.key_id
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"), validate=True)) >= 24
    assert {k: v for k, v in created.items() if k not in ("id", "api_key_id", "secret")} == {
        "url": HOOK,
        "description": "",
        "events": [],
        "model": None,
        "payload_format": "full",
        "signature_scheme": "hmac-sha256",
        "wire_profile": "livehook",
        "retry_policy": "standard",
        "timeout_seconds": 5,
        "headers": {},
        "status": "active",
        "disabled_reason": None,
        "disabled_at": None,
        "created_at": created["created_at"],
        "updated_at": created["created_at"],
        "previous_secret_expires_at": None,
    }


async def test_create_keeps_every_field_given_and_get_returns_it(
    client: httpx.AsyncClient, full_key: str
) -> None:
    fields: dict[str, Any] = {
        "url": "https://hooks.acme.example/v2?tenant=7",
        "description": "production receiver",
        "events": ["verification.completed", "liveness.failed"],
        "model": "mixed-60-v2",
        "payload_format": "thin",
        "signature_scheme": "standard-webhooks",
        "retry_policy": [10, 60, 600],
        "timeout_seconds": 12,
        "headers": {"X-Tenant": "acme-7"},
    }
    created = await create(client, full_key, **fields)
    fetched = data(await get(client, full_key, created["id"]))
    for name, value in fields.items():
        assert created[name] == value and fetched[name] == value, name
    assert "secret" not in fetched and fetched == {
        k: v for k, v in created.items() if k not in ("secret", "previous_secret_expires_at")
    }


async def test_url_is_stored_normalized(client: httpx.AsyncClient, full_key: str) -> None:
    created = await create(client, full_key, url="HTTPS://Hooks.ACME.example:443/in/ß?q=1")
    assert created["url"] == "https://hooks.acme.example/in/%C3%9F?q=1"


async def test_list_follows_next_cursor_to_the_end(
    client: httpx.AsyncClient, full_key: str
) -> None:
    made = [(await create(client, full_key, url=f"{HOOK}/{n}"))["id"] for n in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = data(await client.get("/v1/webhooks", params=params, headers=auth(full_key)))
        pages += 1
        assert all("secret" not in item for item in page["items"])
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            assert cursor is None
            break
        assert cursor == seen[-1]
    assert seen == made and pages == 3


async def test_list_filters_on_status(client: httpx.AsyncClient, full_key: str) -> None:
    active = await create(client, full_key, url=f"{HOOK}/a")
    paused = await create(client, full_key, url=f"{HOOK}/b")
    data(await patch(client, full_key, paused["id"], status="disabled"))
    for status, expected in (("active", active), ("disabled", paused)):
        page = data(await client.get(f"/v1/webhooks?status={status}", headers=auth(full_key)))
        assert [w["id"] for w in page["items"]] == [expected["id"]]
    error(await client.get("/v1/webhooks?status=paused", headers=auth(full_key)), 422)


async def test_deleted_webhook_is_404_everywhere(client: httpx.AsyncClient, full_key: str) -> None:
    created = await create(client, full_key)
    path = f"/v1/webhooks/{created['id']}"
    assert data(await client.delete(path, headers=auth(full_key))) is None
    assert created["id"] in error(await get(client, full_key, created["id"]), 404)["message"]
    error(await client.delete(path, headers=auth(full_key)), 404, "not_found")
    error(await patch(client, full_key, created["id"], description="x"), 404, "not_found")
    error(await client.post(f"{path}/rotate-secret", headers=auth(full_key)), 404, "not_found")
    listed = data(await client.get("/v1/webhooks", headers=auth(full_key)))
    assert listed["items"] == []
    # The (key, URL, model) slot is free again.
    await create(client, full_key)


async def test_unknown_webhook_id_is_404(client: httpx.AsyncClient, full_key: str) -> None:
    body = error(await get(client, full_key, "wh_doesnotexist"), 404, "not_found")
    assert "wh_doesnotexist" in body["message"]


# --- update ---------------------------------------------------------------------------------


async def test_patch_changes_only_the_fields_sent(client: httpx.AsyncClient, full_key: str) -> None:
    created = await create(
        client,
        full_key,
        events=["verification.completed"],
        model="mixed-30-v2",
        retry_policy="once",
        timeout_seconds=9,
        headers={"X-Tenant": "t1"},
    )
    updated = data(await patch(client, full_key, created["id"], description="renamed"))
    assert updated["description"] == "renamed"
    assert updated["updated_at"] >= created["updated_at"]
    unchanged = {"description", "updated_at", "secret", "previous_secret_expires_at"}
    for name in created.keys() - unchanged:
        assert updated[name] == created[name], name
    assert data(await get(client, full_key, created["id"])) == updated


async def test_patch_can_change_every_field(client: httpx.AsyncClient, full_key: str) -> None:
    created = await create(client, full_key)
    changes = {
        "url": "https://other.acme.example/hook",
        "events": ["liveness.passed"],
        "model": "mixed-120-v2",
        "payload_format": "thin",
        "signature_scheme": "standard-webhooks",
        "retry_policy": [5, 50],
        "timeout_seconds": 30,
        "headers": {"X-Env": "prod"},
    }
    updated = data(await patch(client, full_key, created["id"], **changes))
    assert {k: updated[k] for k in changes} == changes
    back = data(await patch(client, full_key, created["id"], model=None, events=[]))
    assert back["model"] is None and back["events"] == []


async def test_patch_rechecks_a_changed_url(client: httpx.AsyncClient, full_key: str) -> None:
    created = await create(client, full_key)
    for url, phrase in (
        ("https://169.254.169.254/latest", "cloud metadata"),
        ("ftp://acme.example/", "must use"),
        ("https://u:p@acme.example/", "user info"),
    ):
        body = error(await patch(client, full_key, created["id"], url=url), 422)
        assert phrase in body["message"], (url, body)
    assert data(await get(client, full_key, created["id"]))["url"] == HOOK


async def test_disable_with_a_reason_then_reactivate_clears_it(
    client: httpx.AsyncClient, full_key: str
) -> None:
    created = await create(client, full_key)
    disabled = data(
        await patch(
            client, full_key, created["id"], status="disabled", disabled_reason="maintenance"
        )
    )
    assert disabled["status"] == "disabled" and disabled["disabled_reason"] == "maintenance"
    assert disabled["disabled_at"] is not None
    again = data(await patch(client, full_key, created["id"], status="active"))
    assert again["status"] == "active"
    assert again["disabled_reason"] is None and again["disabled_at"] is None


async def test_disable_without_a_reason_records_a_default_one(
    client: httpx.AsyncClient, full_key: str
) -> None:
    created = await create(client, full_key)
    disabled = data(await patch(client, full_key, created["id"], status="disabled"))
    assert disabled["status"] == "disabled" and disabled["disabled_reason"]


@pytest.mark.parametrize(
    "field", ["url", "description", "events", "payload_format", "retry_policy", "timeout_seconds"]
)
async def test_patch_with_null_for_a_required_field_is_422(
    client: httpx.AsyncClient, full_key: str, field: str
) -> None:
    created = await create(client, full_key)
    body = error(await patch(client, full_key, created["id"], **{field: None}), 422)
    assert field in body["message"]
    assert data(await get(client, full_key, created["id"])) == {
        k: v for k, v in created.items() if k not in ("secret", "previous_secret_expires_at")
    }


async def test_patch_with_null_headers_is_422(client: httpx.AsyncClient, full_key: str) -> None:
    created = await create(client, full_key, headers={"X-Env": "prod"})
    error(await patch(client, full_key, created["id"], headers=None), 422)
    assert data(await get(client, full_key, created["id"]))["headers"] == {"X-Env": "prod"}


async def test_patch_with_unknown_field_is_422(client: httpx.AsyncClient, full_key: str) -> None:
    created = await create(client, full_key)
    body = error(await patch(client, full_key, created["id"], secret="whsec_mine"), 422)
    assert "secret" in body["message"]


# --- uniqueness -------------------------------------------------------------------------------


async def test_same_key_url_and_model_twice_is_409_naming_the_existing_id(
    client: httpx.AsyncClient, full_key: str
) -> None:
    first = await create(client, full_key, model="mixed-30-v2")
    response = await client.post(
        "/v1/webhooks", json={"url": HOOK, "model": "mixed-30-v2"}, headers=auth(full_key)
    )
    body = error(response, 409, "conflict")
    assert first["id"] in body["message"] and body["details"]["existing_id"] == first["id"]
    # The URL is compared normalized: another spelling of the same URL is the same endpoint.
    again = await client.post(
        "/v1/webhooks",
        json={"url": "HTTPS://HOOKS.ACME.EXAMPLE:443/livehook", "model": "mixed-30-v2"},
        headers=auth(full_key),
    )
    assert first["id"] in error(again, 409, "conflict")["message"]


async def test_same_url_for_another_model_or_from_another_key_is_allowed(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    every_model = await create(client, full_key)
    one_model = await create(client, full_key, model="mixed-10-v2")
    other_model = await create(client, full_key, model="mixed-90-v2")
    colleague = await services.keys.create(account_name="acme", name="ci")
    from_colleague = await create(client, colleague.plaintext)
    ids = {w["id"] for w in (every_model, one_model, other_model, from_colleague)}
    assert len(ids) == 4
    assert from_colleague["api_key_id"] == colleague.key.id


async def test_patch_that_would_collide_is_409_and_changes_nothing(
    client: httpx.AsyncClient, full_key: str
) -> None:
    first = await create(client, full_key, url=f"{HOOK}/1")
    second = await create(client, full_key, url=f"{HOOK}/2")
    by_url = error(await patch(client, full_key, second["id"], url=f"{HOOK}/1"), 409)
    assert by_url["details"]["existing_id"] == first["id"]
    third = await create(client, full_key, url=f"{HOOK}/1", model="mixed-30-v2")
    by_model = error(await patch(client, full_key, third["id"], model=None), 409)
    assert first["id"] in by_model["message"]
    assert data(await get(client, full_key, second["id"]))["url"] == f"{HOOK}/2"
    assert data(await get(client, full_key, third["id"]))["model"] == "mixed-30-v2"
    # Sending a webhook's own URL and model again is not a collision with itself.
    same = data(await patch(client, full_key, first["id"], url=f"{HOOK}/1", model=None))
    assert same["id"] == first["id"]


async def test_concurrent_identical_creates_yield_one_webhook_and_one_409(
    client: httpx.AsyncClient, full_key: str
) -> None:
    responses = await asyncio.gather(
        *(client.post("/v1/webhooks", json={"url": HOOK}, headers=auth(full_key)) for _ in range(4))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409], [r.text for r in responses]
    listed = data(await client.get("/v1/webhooks", headers=auth(full_key)))
    assert len(listed["items"]) == 1


async def test_concurrent_patches_onto_one_url_yield_one_200_and_409s(
    client: httpx.AsyncClient, full_key: str
) -> None:
    made = [(await create(client, full_key, url=f"{HOOK}/{n}"))["id"] for n in range(4)]
    responses = await asyncio.gather(
        *(patch(client, full_key, webhook_id, url=f"{HOOK}/same") for webhook_id in made)
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 409, 409, 409], [r.text for r in responses]
    listed = data(await client.get("/v1/webhooks", headers=auth(full_key)))
    assert sum(w["url"] == f"{HOOK}/same" for w in listed["items"]) == 1
