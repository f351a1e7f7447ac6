"""Authentication, scopes and the error envelope, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from livehook.constants import MAX_REQUEST_BODY_BYTES
from livehook.services.registry import Services
from tests.support.http import auth, data, error


@pytest.mark.parametrize("scheme", ["Bearer", "ApiKey", "bearer"])
async def test_both_documented_schemes_authenticate(
    client: httpx.AsyncClient, full_key: str, scheme: str
) -> None:
    me = data(await client.get("/v1/me", headers=auth(full_key, scheme)))
    assert me["account_name"] == "acme"
    assert me["scopes"] == [] and me["full_access"] is True


async def test_missing_key_is_401_in_the_envelope(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me")
    error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "header", ["Bearer lh_nope", "Basic dXNlcjpwYXNz", "Bearer", "lh_raw_key_without_scheme"]
)
async def test_bad_key_is_401(client: httpx.AsyncClient, header: str) -> None:
    error(await client.get("/v1/me", headers={"Authorization": header}), 401, "unauthorized")


async def test_revoked_key_stops_working_at_once(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    other = await services.keys.create(account_name="acme", name="ci")
    data(await client.get("/v1/me", headers=auth(other.plaintext)))
    data(await client.delete(f"/v1/keys/{other.key.id}", headers=auth(full_key)))
    error(await client.get("/v1/me", headers=auth(other.plaintext)), 401)


async def test_scoped_key_is_refused_403_naming_the_scope(
    client: httpx.AsyncClient, services: Services
) -> None:
    scoped = await services.keys.create(account_name="acme", scopes=["sessions:read"])
    body = error(await client.get("/v1/keys", headers=auth(scoped.plaintext)), 403, "forbidden")
    assert "full-access" in body["message"]
    me = data(await client.get("/v1/me", headers=auth(scoped.plaintext)))
    assert me["scopes"] == ["sessions:read"] and me["full_access"] is False


async def test_another_accounts_key_is_404(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    foreign = await services.keys.create(account_name="globex")
    error(await client.delete(f"/v1/keys/{foreign.key.id}", headers=auth(full_key)), 404)
    data(await client.get("/v1/me", headers=auth(foreign.plaintext)))  # still alive


async def test_unknown_route_is_404_in_the_envelope(client: httpx.AsyncClient) -> None:
    body = error(await client.get("/v1/nothing-here"), 404, "not_found")
    assert "/v1/nothing-here" in body["message"]


async def test_wrong_method_is_405_in_the_envelope(client: httpx.AsyncClient) -> None:
    error(await client.put("/v1/me"), 405, "method_not_allowed")


async def test_validation_error_is_422_with_field_path(
    client: httpx.AsyncClient, full_key: str
) -> None:
    response = await client.post("/v1/keys", json={"name": 42}, headers=auth(full_key))
    body = error(response, 422, "validation_error")
    assert body["details"][0]["field"] == "body.name"
    assert "body.name" in body["message"]


async def test_malformed_json_is_422(client: httpx.AsyncClient, full_key: str) -> None:
    response = await client.post(
        "/v1/keys",
        content=b'{"name": ',
        headers={**auth(full_key), "Content-Type": "application/json"},
    )
    error(response, 422, "validation_error")


async def test_oversized_body_is_413_and_nothing_is_created(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    before = await services.keys.list_page()
    huge = b'{"name": "' + b"x" * MAX_REQUEST_BODY_BYTES + b'"}'
    response = await client.post(
        "/v1/keys", content=huge, headers={**auth(full_key), "Content-Type": "application/json"}
    )
    error(response, 413, "payload_too_large")
    assert len(await services.keys.list_page()) == len(before)


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert data(await client.get("/healthz")) == {"status": "ok"}
    assert data(await client.get("/readyz"))["database"] == "ok"
