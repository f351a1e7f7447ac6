"""Sessions over the API: create, report, poll, list; validation, scopes and accounts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from livehook.config import Settings
from livehook.domain.sessions import MAX_TENANT_METADATA_BYTES
from livehook.services.registry import Services
from tests.support.app import in_process_client, running_services
from tests.support.http import auth, data, error
from tests.support.sessions import (
    LIVE,
    MODEL,
    create_session,
    drive,
    post_failure,
    post_result,
    post_stage,
)


async def get_session(client: httpx.AsyncClient, key: str, session_id: str) -> Any:
    return data(await client.get(f"/v1/sessions/{session_id}", headers=auth(key)))


# --- create and poll ------------------------------------------------------------------------


async def test_create_returns_a_pending_uuid7_session_at_initialized(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    principal = await services.keys.authenticate(full_key)
    assert principal is not None
    created = await create_session(
        client,
        full_key,
        external_id="user_123",
        external_tracker="signup-campaign",
        tenant_metadata={"plan": "pro", "seats": [1, 2]},
        callback_url="http://127.0.0.1:9/cb",
        callback_format="thin",
    )
    assert uuid.UUID(created["id"]).version == 7
    assert created["api_key_id"] == principal.key_id
    assert created["status"] == "pending" and created["stage"] == "verification.initialized"
    assert created["tenant_metadata"] == {"plan": "pro", "seats": [1, 2]}
    assert (created["callback_url"], created["callback_format"]) == (
        "http://127.0.0.1:9/cb",
        "thin",
    )
    assert (created["result"], created["error"], created["ended_at"]) == (None, None, None)
    [initialized] = created["stages"]
    assert initialized["stage"] == "verification.initialized" and initialized["step"] == 1
    assert initialized["reached_at"] == created["created_at"]
    assert initialized["event_id"].startswith("evt_")
    assert await get_session(client, full_key, created["id"]) == created


async def test_polling_a_completed_session_shows_every_stage_in_order_and_the_verdict(
    client: httpx.AsyncClient, full_key: str
) -> None:
    session_id = (await create_session(client, full_key, tenant_metadata={"plan": "pro"}))["id"]
    await drive(client, full_key, session_id, ["verification.started", "consent.granted"])
    data(await post_stage(client, full_key, session_id, "liveness.started", trust_score=0.7))
    data(await post_result(client, full_key, session_id, warning="low light"))

    polled = await get_session(client, full_key, session_id)
    assert [s["stage"] for s in polled["stages"]] == [
        "verification.initialized",
        "verification.started",
        "consent.granted",
        "liveness.started",
        "liveness.passed",
        "verification.completed",
    ]
    assert [s["step"] for s in polled["stages"]] == [1, 2, 3, 4, 5, 6]
    times = [s["reached_at"] for s in polled["stages"]]
    assert times == sorted(times) and polled["ended_at"] == times[-1]
    assert polled["status"] == "completed" and polled["trust_score"] == 0.7
    result = polled["result"]
    assert {k: v for k, v in result.items() if k != "created_at"} == {
        "verdict": "live",
        "real_score": 0.94,
        "score": 94.0,
        "confidence": 0.94,
        "type": "VERY HIGH",
        "model": MODEL,
        "input_source": "rest_frames",
        "processing_ms": 845,
        "frames_processed": 30,
        "tenant_metadata": {"plan": "pro"},
        "warning": "low light",
    }
    assert polled["error"] is None


async def test_verdict_without_earlier_stages_fills_in_liveness_started(
    client: httpx.AsyncClient, full_key: str
) -> None:
    session_id = (await create_session(client, full_key))["id"]
    fake = LIVE | {"verdict": "fake", "real_score": 0.1, "confidence": 0.6}
    done = data(await post_result(client, full_key, session_id, **fake))
    assert [s["stage"] for s in done["stages"]] == [
        "verification.initialized",
        "liveness.started",
        "liveness.failed",
        "verification.completed",
    ]
    assert done["result"]["verdict"] == "fake" and done["result"]["type"] == "MEDIUM"


async def test_failure_records_the_error_and_no_verdict(
    client: httpx.AsyncClient, full_key: str
) -> None:
    session_id = (await create_session(client, full_key, external_id="u1"))["id"]
    await drive(client, full_key, session_id, ["liveness.started"])
    failed = data(await post_failure(client, full_key, session_id))
    assert failed["status"] == "failed" and failed["result"] is None
    assert failed["error"] == {
        "code": "video_pipeline_error",
        "message": "The video could not be decoded.",
        "last_stage": "liveness.started",
        "model": MODEL,
        "external_id": "u1",
        "external_tracker": None,
    }
    assert failed["stages"][-1]["stage"] == "verification.failed"


async def test_cancelled_liveness_sets_status_cancelled(
    client: httpx.AsyncClient, full_key: str
) -> None:
    session_id = (await create_session(client, full_key))["id"]
    await drive(client, full_key, session_id, ["verification.started", "liveness.started"])
    assert (await get_session(client, full_key, session_id))["status"] == "in_progress"
    data(await post_stage(client, full_key, session_id, "liveness.cancelled"))
    assert (await get_session(client, full_key, session_id))["status"] == "cancelled"


async def test_trust_score_is_the_last_one_reported(
    client: httpx.AsyncClient, full_key: str
) -> None:
    session_id = (await create_session(client, full_key))["id"]
    data(await post_stage(client, full_key, session_id, "verification.started", trust_score=0.4))
    kept = data(await post_stage(client, full_key, session_id, "consent.granted"))
    assert kept["trust_score"] == 0.4


# --- validation -----------------------------------------------------------------------------

BAD_CREATES = [
    ({"model": "mixed-31-v2"}, "body.model"),
    ({"tenant_metadata": [1, 2]}, "body.tenant_metadata"),
    ({"tenant_metadata": "plan=pro"}, "body.tenant_metadata"),
    ({"tenant_metadata": {"blob": "x" * MAX_TENANT_METADATA_BYTES}}, "body.tenant_metadata"),
    ({"callback_format": "xml"}, "body.callback_format"),
    ({"external_id": ""}, "body.external_id"),
    ({"external_tracker": "t" * 256}, "body.external_tracker"),
    ({"colour": "blue"}, "body.colour"),
]


@pytest.mark.parametrize(("fields", "path"), BAD_CREATES)
async def test_bad_create_is_422_naming_the_field(
    client: httpx.AsyncClient, full_key: str, fields: dict[str, Any], path: str
) -> None:
    body = {"model": MODEL} | fields
    response = await client.post("/v1/sessions", json=body, headers=auth(full_key))
    assert path in [d["field"] for d in error(response, 422, "validation_error")["details"]]


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"stage": "liveness.exploded"}, "body.stage"),
        ({"stage": "verification.completed"}, "body.stage"),
        ({"stage": "liveness.passed"}, "body.stage"),
        ({"stage": "consent.granted", "trust_score": 1.5}, "body.trust_score"),
    ],
)
async def test_bad_stage_report_is_422_naming_the_field(
    client: httpx.AsyncClient, full_key: str, fields: dict[str, Any], path: str
) -> None:
    session_id = (await create_session(client, full_key))["id"]
    response = await client.post(
        f"/v1/sessions/{session_id}/stages", json=fields, headers=auth(full_key)
    )
    assert path in [d["field"] for d in error(response, 422)["details"]]


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"verdict": "maybe"}, "body.verdict"),
        ({"real_score": 2}, "body.real_score"),
        ({"confidence": -0.1}, "body.confidence"),
        ({"processing_ms": -1}, "body.processing_ms"),
        ({"input_source": ""}, "body.input_source"),
    ],
)
async def test_bad_result_is_422_naming_the_field(
    client: httpx.AsyncClient, full_key: str, fields: dict[str, Any], path: str
) -> None:
    session_id = (await create_session(client, full_key))["id"]
    response = await post_result(client, full_key, session_id, **fields)
    assert path in [d["field"] for d in error(response, 422)["details"]]


@pytest.mark.parametrize(
    ("model", "frames", "status"),
    [("mixed-10-v2", 10, 200), ("mixed-10-v2", 11, 422), ("mixed-120-v2", 120, 200)],
)
async def test_frames_processed_is_bounded_by_the_sessions_model(
    client: httpx.AsyncClient, full_key: str, model: str, frames: int, status: int
) -> None:
    session_id = (await create_session(client, full_key, model=model))["id"]
    response = await post_result(client, full_key, session_id, frames_processed=frames)
    if status == 200:
        assert data(response)["result"]["frames_processed"] == frames
        return
    body = error(response, 422, "invalid_request")
    assert body["details"] == {"field": "frames_processed"}
    assert "10" in body["message"]
    assert (await get_session(client, full_key, session_id))["stage"] == "verification.initialized"


@pytest.mark.parametrize(
    ("fields", "path"),
    [({"code": "has space"}, "body.code"), ({"message": ""}, "body.message")],
)
async def test_bad_failure_is_422_naming_the_field(
    client: httpx.AsyncClient, full_key: str, fields: dict[str, Any], path: str
) -> None:
    session_id = (await create_session(client, full_key))["id"]
    response = await post_failure(client, full_key, session_id, **fields)
    assert path in [d["field"] for d in error(response, 422)["details"]]


@pytest.fixture
async def strict_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app as deployed: local and non-HTTPS callback URLs are refused."""
    strict = settings.replace(allow_local_urls=False)
    async with running_services(strict) as services, in_process_client(strict, services) as c:
        yield c


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/cb",
        "https://127.0.0.1/cb",
        "https://10.0.0.7/cb",
        "https://169.254.169.254/latest/meta-data",
        "ftp://example.com/cb",
        "not a url",
    ],
)
async def test_unsafe_callback_url_is_422_and_stores_nothing(
    strict_client: httpx.AsyncClient, services: Services, url: str
) -> None:
    key = (await services.keys.create(account_name="acme")).plaintext
    response = await strict_client.post(
        "/v1/sessions", json={"model": MODEL, "callback_url": url}, headers=auth(key)
    )
    assert error(response, 422, "invalid_request")["details"] == {"field": "callback_url"}
    listed = data(await strict_client.get("/v1/sessions", headers=auth(key)))
    assert listed["items"] == []


# --- accounts and scopes --------------------------------------------------------------------


async def test_another_accounts_session_is_404_everywhere(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    foreign = (await services.keys.create(account_name="globex")).plaintext
    session_id = (await create_session(client, foreign))["id"]
    error(await client.get(f"/v1/sessions/{session_id}", headers=auth(full_key)), 404)
    error(await post_stage(client, full_key, session_id, "verification.started"), 404)
    error(await post_result(client, full_key, session_id), 404)
    error(await post_failure(client, full_key, session_id), 404)
    assert (await get_session(client, foreign, session_id))["stage"] == "verification.initialized"


@pytest.mark.parametrize(
    "session_id",
    ["8d3a0f43-5c1e-4f0b-9a63-2f6c1b7d9e21", "not-a-uuid", "x" * 300],
    ids=["unknown-uuid", "not-a-uuid", "300-chars"],
)
async def test_unknown_session_is_404(
    client: httpx.AsyncClient, full_key: str, session_id: str
) -> None:
    error(await client.get(f"/v1/sessions/{session_id}", headers=auth(full_key)), 404)
    error(await post_stage(client, full_key, session_id, "verification.started"), 404)


async def test_uppercase_session_id_finds_the_session(
    client: httpx.AsyncClient, full_key: str
) -> None:
    session_id = (await create_session(client, full_key))["id"]
    assert (await get_session(client, full_key, session_id.upper()))["id"] == session_id


async def test_read_scope_cannot_write_and_write_scope_cannot_read(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    reader = (await services.keys.create(account_name="acme", scopes=["sessions:read"])).plaintext
    writer = (await services.keys.create(account_name="acme", scopes=["sessions:write"])).plaintext
    session_id = (await create_session(client, writer))["id"]
    body = error(
        await client.post("/v1/sessions", json={"model": MODEL}, headers=auth(reader)), 403
    )
    assert "sessions:write" in body["message"]
    error(await post_stage(client, reader, session_id, "verification.started"), 403)
    error(await client.get(f"/v1/sessions/{session_id}", headers=auth(writer)), 403)
    error(await client.get("/v1/sessions", headers=auth(writer)), 403)
    assert (await get_session(client, reader, session_id))["id"] == session_id


# --- listing --------------------------------------------------------------------------------


async def test_list_filters_and_follows_the_cursor(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    first = await create_session(client, full_key, external_id="u1", external_tracker="spring")
    second = await create_session(client, full_key, model="mixed-60-v2", external_tracker="fall")
    third = await create_session(client, full_key, external_id="u3")
    data(await post_result(client, full_key, third["id"]))
    foreign = (await services.keys.create(account_name="globex")).plaintext
    await create_session(client, foreign, external_id="u1")

    async def ids(query: str) -> list[str]:
        page = data(await client.get(f"/v1/sessions?{query}", headers=auth(full_key)))
        return [item["id"] for item in page["items"]]

    all_ids = [first["id"], second["id"], third["id"]]
    assert await ids("") == all_ids
    assert await ids("status=completed") == [third["id"]]
    assert await ids("status=pending") == [first["id"], second["id"]]
    assert await ids("model=mixed-60-v2") == [second["id"]]
    assert await ids("external_id=u1") == [first["id"]]
    assert await ids("external_tracker=fall") == [second["id"]]
    created = second["created_at"]
    assert await ids(f"created_after={created.replace('Z', '%2B00:00')}") == all_ids[1:]
    assert await ids(f"created_before={created.removesuffix('Z')}") == [first["id"]]

    seen, cursor = [], None
    while True:
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = data(await client.get(f"/v1/sessions?{query}", headers=auth(full_key)))
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        assert page["has_more"] is (cursor is not None)
        if cursor is None:
            break
    assert seen == all_ids
    assert "stages" not in page["items"][0]


async def test_bad_list_filter_is_422(client: httpx.AsyncClient, full_key: str) -> None:
    response = await client.get("/v1/sessions?status=lost", headers=auth(full_key))
    assert error(response, 422)["details"][0]["field"] == "query.status"
    response = await client.get("/v1/sessions?created_after=yesterday", headers=auth(full_key))
    assert error(response, 422)["details"][0]["field"] == "query.created_after"
