"""Listing and reading events: the polling feed of what happened to sessions."""

from __future__ import annotations

from typing import Any

import httpx

from livehook.services.registry import Services
from tests.support.http import auth, data, error
from tests.support.sessions import create_session, drive, post_result


async def list_events(client: httpx.AsyncClient, key: str, query: str = "") -> Any:
    return data(await client.get(f"/v1/events?{query}", headers=auth(key)))


async def test_events_are_listed_oldest_first_in_emission_order(
    client: httpx.AsyncClient, full_key: str
) -> None:
    session_id = (await create_session(client, full_key, external_id="u1"))["id"]
    data(await post_result(client, full_key, session_id))  # three events in one report

    items = (await list_events(client, full_key))["items"]
    assert [e["type"] for e in items] == [
        "verification.initialized",
        "liveness.started",
        "liveness.passed",
        "verification.completed",
    ]
    assert all(e["session_id"] == session_id for e in items)
    assert items[0]["data"] == {
        "stage": "verification.initialized",
        "step": 1,
        "external_id": "u1",
        "external_tracker": None,
        "trust_score": None,
    }
    assert items[-1]["data"]["verdict"] == "live" and items[-1]["data"]["score"] == 94.0


async def test_filters_by_session_type_and_time(client: httpx.AsyncClient, full_key: str) -> None:
    first = (await create_session(client, full_key))["id"]
    await drive(client, full_key, first, ["verification.started"])
    second = await create_session(client, full_key)

    by_session = (await list_events(client, full_key, f"session_id={first}"))["items"]
    assert [e["type"] for e in by_session] == ["verification.initialized", "verification.started"]
    by_type = (await list_events(client, full_key, "type=verification.initialized"))["items"]
    assert [e["session_id"] for e in by_type] == [first, second["id"]]
    at = second["created_at"].replace("Z", "%2B00:00")
    after = (await list_events(client, full_key, f"created_after={at}"))["items"]
    assert [e["session_id"] for e in after] == [second["id"]]
    before = (await list_events(client, full_key, f"created_before={at}"))["items"]
    assert [e["session_id"] for e in before] == [first, first]


async def test_cursor_walks_every_event_once(client: httpx.AsyncClient, full_key: str) -> None:
    session_id = (await create_session(client, full_key))["id"]
    data(await post_result(client, full_key, session_id))
    expected = [e["id"] for e in (await list_events(client, full_key))["items"]]

    seen: list[str] = []
    cursor = None
    while True:
        page = await list_events(
            client, full_key, "limit=3" + (f"&cursor={cursor}" if cursor else "")
        )
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected and len(seen) == 4


async def test_get_one_event_and_another_accounts_is_404(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    mine = (await create_session(client, full_key))["stages"][0]["event_id"]
    foreign_key = (await services.keys.create(account_name="globex")).plaintext
    theirs = (await create_session(client, foreign_key))["stages"][0]["event_id"]

    event = data(await client.get(f"/v1/events/{mine}", headers=auth(full_key)))
    assert event["id"] == mine and event["type"] == "verification.initialized"
    error(await client.get(f"/v1/events/{theirs}", headers=auth(full_key)), 404, "not_found")
    listed = (await list_events(client, full_key))["items"]
    assert [e["id"] for e in listed] == [mine]


async def test_unknown_type_filter_is_422(client: httpx.AsyncClient, full_key: str) -> None:
    response = await client.get("/v1/events?type=liveness.exploded", headers=auth(full_key))
    assert error(response, 422, "invalid_request")["details"] == {"field": "type"}


async def test_events_need_the_sessions_read_scope(
    client: httpx.AsyncClient, services: Services
) -> None:
    writer = (await services.keys.create(account_name="acme", scopes=["sessions:write"])).plaintext
    error(await client.get("/v1/events", headers=auth(writer)), 403, "forbidden")
