"""Webhook fields: event and model filters, formats, retry policy, timeout, custom headers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from livehook.domain.catalog import EVENT_TYPES, MODELS
from livehook.services.registry import Services
from tests.support.http import auth, data, error

pytestmark = pytest.mark.usefixtures("no_dns")

HOOK = "https://hooks.acme.example/livehook"
SECRET_HEADERS = {
    "Authorization": "Bearer sk_live_receiver_token_1",
    "X-Api-Key": "receiver-api-key-2",
    "Proxy-Authorization": "Basic cHJveHk6cGFzcw==",
    "X-Auth-Token": "receiver-token-3",
}


async def post(client: httpx.AsyncClient, key: str, **fields: Any) -> httpx.Response:
    return await client.post("/v1/webhooks", json={"url": HOOK} | fields, headers=auth(key))


# --- events and model -------------------------------------------------------------------------


async def test_every_catalog_event_type_can_be_subscribed(
    client: httpx.AsyncClient, full_key: str
) -> None:
    created = data(await post(client, full_key, events=list(EVENT_TYPES)), 201)
    assert created["events"] == list(EVENT_TYPES)


async def test_repeated_event_types_are_kept_once(client: httpx.AsyncClient, full_key: str) -> None:
    events = ["verification.completed", "liveness.failed", "verification.completed"]
    created = data(await post(client, full_key, events=events), 201)
    assert created["events"] == ["verification.completed", "liveness.failed"]


@pytest.mark.parametrize("bad", ["verification.finished", "VERIFICATION.COMPLETED", "", "*"])
async def test_unknown_event_type_is_422_naming_it(
    client: httpx.AsyncClient, full_key: str, bad: str
) -> None:
    body = error(await post(client, full_key, events=["verification.completed", bad]), 422)
    assert f"unknown event type(s): {bad};" in body["message"]
    assert body["details"]["field"] == "events"


async def test_every_catalog_model_or_null_is_accepted(
    client: httpx.AsyncClient, full_key: str
) -> None:
    for name in [*MODELS, None]:
        created = data(await post(client, full_key, model=name), 201)
        assert created["model"] == name


@pytest.mark.parametrize("bad", ["mixed-45-v2", "MIXED-30-V2", ""])
async def test_unknown_model_is_422_naming_it(
    client: httpx.AsyncClient, full_key: str, bad: str
) -> None:
    body = error(await post(client, full_key, model=bad), 422)
    assert f"unknown model {bad!r}" in body["message"] and "mixed-30-v2" in body["message"]


async def test_unknown_model_in_patch_is_422(client: httpx.AsyncClient, full_key: str) -> None:
    created = data(await post(client, full_key), 201)
    response = await client.patch(
        f"/v1/webhooks/{created['id']}", json={"model": "v3"}, headers=auth(full_key)
    )
    assert "unknown model 'v3'" in error(response, 422)["message"]


# --- formats and schemes ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("payload_format", ["full", "thin"], "fat"),
        ("signature_scheme", ["hmac-sha256", "standard-webhooks"], "hmac-sha1"),
    ],
)
async def test_enumerated_fields_accept_their_values_only(
    client: httpx.AsyncClient, full_key: str, field: str, good: list[str], bad: str
) -> None:
    for n, value in enumerate(good):
        created = data(await post(client, full_key, url=f"{HOOK}/{n}", **{field: value}), 201)
        assert created[field] == value
    body = error(await post(client, full_key, **{field: bad}), 422, "validation_error")
    assert f"body.{field}" in body["message"]


# --- retry policy and timeout -----------------------------------------------------------------


@pytest.mark.parametrize("policy", ["standard", "once", [1], [10, 60, 600], [86400], [5] * 20])
async def test_retry_policy_accepts_named_and_bounded_custom_policies(
    client: httpx.AsyncClient, full_key: str, policy: Any
) -> None:
    assert data(await post(client, full_key, retry_policy=policy), 201)["retry_policy"] == policy


@pytest.mark.parametrize(
    ("policy", "phrase"),
    [
        ([0], "greater than or equal to 1"),
        ([86401], "less than or equal to 86400"),
        ([-5, 10], "greater than or equal to 1"),
        ([], "1 to 20 delays"),
        ([5] * 21, "1 to 20 delays"),
        ("sometimes", "retry_policy"),
        ([1.5], "retry_policy"),
    ],
)
async def test_retry_policy_out_of_bounds_is_422(
    client: httpx.AsyncClient, full_key: str, policy: Any, phrase: str
) -> None:
    body = error(await post(client, full_key, retry_policy=policy), 422)
    assert phrase in body["message"], body


@pytest.mark.parametrize("seconds", [1, 5, 30])
async def test_timeout_within_1_to_30_is_accepted(
    client: httpx.AsyncClient, full_key: str, seconds: int
) -> None:
    assert data(await post(client, full_key, timeout_seconds=seconds), 201)["timeout_seconds"] == (
        seconds
    )


@pytest.mark.parametrize("seconds", [0, 31, -1, 3600])
async def test_timeout_outside_1_to_30_is_422(
    client: httpx.AsyncClient, full_key: str, seconds: int
) -> None:
    body = error(await post(client, full_key, timeout_seconds=seconds), 422)
    assert "body.timeout_seconds" in body["message"]


# --- custom headers ---------------------------------------------------------------------------


async def test_sensitive_header_values_are_redacted_in_every_response(
    client: httpx.AsyncClient, full_key: str
) -> None:
    headers = SECRET_HEADERS | {"X-Tenant": "acme-7"}
    expected = dict.fromkeys(SECRET_HEADERS, "[redacted]") | {"X-Tenant": "acme-7"}
    created = data(await post(client, full_key, headers=headers), 201)
    path = f"/v1/webhooks/{created['id']}"
    fetched = data(await client.get(path, headers=auth(full_key)))
    listed = data(await client.get("/v1/webhooks", headers=auth(full_key)))["items"][0]
    updated = data(await client.patch(path, json={"description": "x"}, headers=auth(full_key)))
    rotated = data(await client.post(f"{path}/rotate-secret", headers=auth(full_key)))
    for shown in (created, fetched, listed, updated, rotated):
        assert shown["headers"] == expected
    everything = str([created, fetched, listed, updated, rotated])
    assert not [v for v in SECRET_HEADERS.values() if v in everything]


async def test_stored_header_values_are_the_real_ones(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    created = data(await post(client, full_key, headers=SECRET_HEADERS), 201)
    principal = await services.keys.authenticate(full_key)
    assert principal is not None
    stored = await services.webhooks.get(principal, created["id"])
    assert dict(stored.headers) == SECRET_HEADERS


async def test_patching_back_redacted_headers_keeps_the_real_values(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    """A client that GETs, edits one header and PATCHes the whole map must not store
    "[redacted]" in place of its credentials."""
    created = data(await post(client, full_key, headers=SECRET_HEADERS), 201)
    shown = data(await client.get(f"/v1/webhooks/{created['id']}", headers=auth(full_key)))
    edited = shown["headers"] | {"X-Tenant": "t2"}
    del edited["X-Auth-Token"]
    response = await client.patch(
        f"/v1/webhooks/{created['id']}", json={"headers": edited}, headers=auth(full_key)
    )
    assert data(response)["headers"]["X-Tenant"] == "t2"
    principal = await services.keys.authenticate(full_key)
    assert principal is not None
    stored = await services.webhooks.get(principal, created["id"])
    kept = {k: v for k, v in SECRET_HEADERS.items() if k != "X-Auth-Token"}
    assert dict(stored.headers) == kept | {"X-Tenant": "t2"}


@pytest.mark.parametrize(
    "name",
    [
        "Content-Type",
        "content-length",
        "Host",
        "User-Agent",
        "X-Webhook-Signature",
        "X-Webhook-Id",
        "x-webhook-timestamp",
        "Webhook-Signature",
        "Transfer-Encoding",
    ],
)
async def test_reserved_header_names_are_refused(
    client: httpx.AsyncClient, full_key: str, name: str
) -> None:
    body = error(await post(client, full_key, headers={name: "x"}), 422)
    assert name in body["message"] and "set by livehook" in body["message"]


@pytest.mark.parametrize(
    ("headers", "phrase"),
    [
        ({"X-Tenant": "a\r\nX-Injected: 1"}, "line break"),
        ({"X-Tenant": "a\nb"}, "line break"),
        ({"X-Tenant": "a\rb"}, "line break"),
        ({"X Tenant": "a"}, "not a valid header name"),
        ({"X-Tenant:": "a"}, "not a valid header name"),
        ({"": "a"}, "not a valid header name"),
        ({"X-Tenant": "a", "x-tenant": "b"}, "given twice"),
        ({f"X-H{n}": "v" for n in range(21)}, "at most 20"),
    ],
)
async def test_malformed_custom_headers_are_refused(
    client: httpx.AsyncClient, full_key: str, headers: dict[str, str], phrase: str
) -> None:
    body = error(await post(client, full_key, headers=headers), 422)
    assert phrase in body["message"], body


async def test_header_refusal_on_patch_leaves_the_webhook_unchanged(
    client: httpx.AsyncClient, full_key: str
) -> None:
    created = data(await post(client, full_key, headers={"X-Tenant": "a"}), 201)
    path = f"/v1/webhooks/{created['id']}"
    response = await client.patch(
        path, json={"headers": {"Content-Type": "text/plain"}}, headers=auth(full_key)
    )
    error(response, 422)
    assert data(await client.get(path, headers=auth(full_key)))["headers"] == {"X-Tenant": "a"}


async def test_unknown_create_field_is_422_and_secret_cannot_be_chosen(
    client: httpx.AsyncClient, full_key: str
) -> None:
    body = error(await post(client, full_key, secret="whsec_mine"), 422, "validation_error")
    assert "body.secret" in body["message"]


async def test_redacted_placeholder_for_a_header_never_stored_is_422(
    client: httpx.AsyncClient, full_key: str
) -> None:
    created = data(await post(client, full_key), 201)
    response = await client.patch(
        f"/v1/webhooks/{created['id']}",
        json={"headers": {"Authorization": "[redacted]"}},
        headers=auth(full_key),
    )
    assert "no stored value" in error(response, 422)["message"]
