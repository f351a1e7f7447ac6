"""The hostile inputs that once gave 500: each now gets a clear 4xx and stores nothing.

Every test runs on SQLite and on PostgreSQL (where NUL and 64-bit limits bite hardest).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from livehook.services.registry import Services
from livehook.storage.errors import ValueRefused
from tests.support.http import auth, data, error
from tests.support.sessions import LIVE, MODEL, create_session, create_webhook, event_rows

BEYOND_64_BITS = ["9223372036854775808", "-9223372036854775809", "1" + "0" * 400]
FAR_TIMES = ["0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01"]


def raw(key: str, **extra: str) -> dict[str, str]:
    return auth(key) | {"Content-Type": "application/json"} | extra


@pytest.mark.parametrize("number", BEYOND_64_BITS)
@pytest.mark.parametrize("keyed", [False, True])
async def test_an_integer_beyond_64_bits_is_a_422_with_or_without_an_idempotency_key(
    client: httpx.AsyncClient, services: Services, full_key: str, number: str, keyed: bool
) -> None:
    headers = raw(full_key, **({"Idempotency-Key": f"big-{number[:4]}"} if keyed else {}))
    body = f'{{"model": "{MODEL}", "tenant_metadata": {{"n": [{number}]}}}}'
    error(await client.post("/v1/sessions", content=body, headers=headers), 422)
    assert await event_rows(services.db) == []


@pytest.mark.parametrize("number", ["1e400", "NaN", "-Infinity"])
async def test_non_finite_numbers_in_tenant_metadata_are_refused(
    client: httpx.AsyncClient, full_key: str, number: str
) -> None:
    body = f'{{"model": "{MODEL}", "tenant_metadata": {{"n": {number}}}}}'
    error(await client.post("/v1/sessions", content=body, headers=raw(full_key)), 422)


async def test_a_session_with_the_widest_integers_still_gets_its_verdict(
    client: httpx.AsyncClient, full_key: str
) -> None:
    widest = {"max": 2**63 - 1, "min": -(2**63)}
    session = await create_session(client, full_key, tenant_metadata=widest)
    result = await client.post(
        f"/v1/sessions/{session['id']}/result",
        json=LIVE,
        headers=auth(full_key) | {"Idempotency-Key": "verdict"},
    )
    assert data(result)["result"]["tenant_metadata"] == widest


@pytest.mark.parametrize("moment", FAR_TIMES)
async def test_times_that_leave_years_1_to_9999_in_utc_are_422_on_every_list(
    client: httpx.AsyncClient, full_key: str, moment: str
) -> None:
    webhook = await create_webhook(client, full_key, "far")
    for path, name in [
        ("/v1/sessions", "created_after"),
        ("/v1/sessions", "created_before"),
        ("/v1/events", "created_after"),
        (f"/v1/webhooks/{webhook['id']}/deliveries", "created_after"),
        ("/v1/stats/funnel", "from"),
        ("/v1/stats/funnel", "to"),
    ]:
        answer = await client.get(path, params={name: moment}, headers=auth(full_key))
        error(answer, 422, "validation_error")
    recover = await client.post(
        f"/v1/webhooks/{webhook['id']}/recover", json={"since": moment}, headers=auth(full_key)
    )
    error(recover, 422)


async def test_the_earliest_and_latest_utc_times_are_accepted(
    client: httpx.AsyncClient, full_key: str
) -> None:
    for params in [
        {"created_after": "0001-01-01T00:00:00Z", "created_before": "9999-12-31T23:59:59Z"},
        {"from": "0001-01-01T00:00:00Z", "to": "9999-12-31T23:59:59Z"},
        {"to": "0001-01-02T00:00:00Z"},
    ]:
        path = "/v1/stats/funnel" if "from" in params or "to" in params else "/v1/sessions"
        assert (await client.get(path, params=params, headers=auth(full_key))).status_code == 200


@pytest.mark.parametrize("moment", ["0.5", "0", "1700000000", "true"])
async def test_numbers_are_not_times(client: httpx.AsyncClient, full_key: str, moment: str) -> None:
    answer = await client.get(
        "/v1/sessions", params={"created_before": moment}, headers=auth(full_key)
    )
    error(answer, 422)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("rotate-secret", {"overlap_seconds": False}),
        ("rotate-secret", {"overlap_seconds": "60"}),
        ("recover", {"since": 0}),
        ("recover", {"since": False}),
        ("recover", {"since": "2026-01-01T00:00:00"}),  # no zone
    ],
)
async def test_booleans_numbers_and_zoneless_times_are_refused_in_bodies(
    client: httpx.AsyncClient, full_key: str, path: str, body: dict[str, Any]
) -> None:
    webhook = await create_webhook(client, full_key, "typed")
    answer = await client.post(
        f"/v1/webhooks/{webhook['id']}/{path}", json=body, headers=auth(full_key)
    )
    error(answer, 422)


async def test_a_nul_character_in_a_body_a_query_or_a_path_is_a_4xx(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    headers = auth(full_key)
    body = {"model": MODEL, "external_id": "a\x00b"}
    error(await client.post("/v1/sessions", json=body, headers=headers), 422)
    nested = {"model": MODEL, "tenant_metadata": {"k\x00": 1}}
    error(await client.post("/v1/sessions", json=nested, headers=headers), 422)
    for url in ["/v1/sessions?external_id=a%00b", "/v1/sessions/a%00b", "/v1/events/evt_%00"]:
        error(await client.get(url, headers=headers), 400, "bad_request")
    assert await event_rows(services.db) == []


async def test_the_database_refusing_a_value_becomes_value_refused(services: Services) -> None:
    """The backstop behind the edge's checks: PostgreSQL refuses NUL; SQLite stores it."""
    if services.db.dialect != "postgresql":
        created = await services.keys.create(account_name="nul\x00name")
        assert created.account.name == "nul\x00name"
        return
    with pytest.raises(ValueRefused):
        await services.keys.create(account_name="nul\x00name")


async def test_the_api_answers_a_database_refusal_with_400(
    client: httpx.AsyncClient, services: Services, full_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*_: Any, **__: Any) -> Any:
        raise ValueRefused("the database cannot store a value of this request")

    monkeypatch.setattr(services.sessions, "list_page", refused)
    error(await client.get("/v1/sessions", headers=auth(full_key)), 400, "invalid_value")


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * size
        sent += size


async def test_an_oversized_chunked_body_is_a_413(client: httpx.AsyncClient, full_key: str) -> None:
    answer = await client.post(
        "/v1/sessions", content=chunks(2 * 1024 * 1024), headers=raw(full_key)
    )
    error(answer, 413, "payload_too_large")
