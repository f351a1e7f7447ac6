"""The MCP tools as an agent uses them: the SDK's own client talking to a real `livehook mcp`
(stdio) and to `/mcp` on a real `livehook serve` (streamable HTTP), on both databases."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import jsonschema
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from livehook.config import Settings
from livehook.domain.catalog import EVENT_TYPES
from livehook.receiver import verify
from livehook.services.registry import Services
from tests.support.app import settings_for
from tests.support.http import auth, data, error
from tests.support.mcp_clients import call, over_http, over_stdio, refusal
from tests.support.processes import Server, env_sharing, run_cli, serving
from tests.support.receivers import Receiver
from tests.support.sessions import LIVE, MODEL

# On one xdist worker (--dist loadgroup): the module-scoped serve starts once, not once per worker.
pytestmark = pytest.mark.xdist_group("mcp")

VERIFICATION_URL = "https://verify.example.com/s/{session_id}"
JOURNEY = ["verification.started", "consent.granted", "liveness.started"]
TOOLS = {
    "verify_human_presence",
    "check_verification_status",
    "list_webhooks",
    "create_webhook",
    "update_webhook",
    "delete_webhook",
    "send_test_event",
    "list_deliveries",
    "get_delivery",
    "redeliver",
    "get_funnel",
    "list_event_types",
}
Connect = Callable[[str], AbstractAsyncContextManager[ClientSession]]


# One `serve` (and one database) per module and database, not per test: a start costs seconds.
# Each test acts in accounts of its own, so what one test creates no other test lists.
@pytest.fixture(scope="module")
def settings(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return settings_for(tmp_path_factory.mktemp("mcp") / "home", module_database_url)


@pytest.fixture(scope="module")
def env(settings: Settings) -> dict[str, str]:
    return env_sharing(settings, LIVEHOOK_VERIFICATION_URL=VERIFICATION_URL)


@pytest.fixture(scope="module")
def server(env: dict[str, str]) -> Iterator[Server]:
    """The API and its delivery worker: the verification engine reports here."""
    with serving(env) as running:
        yield running


@pytest.fixture
def account_name() -> str:
    """This test's own account."""
    return f"acme-{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def full_key(services: Services, account_name: str) -> str:
    """A full-access API key of this test's account."""
    return (await services.keys.create(account_name=account_name, name="admin")).plaintext


@pytest.fixture
async def api(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base, timeout=10) as client:
        yield client


@pytest.fixture
def transports(
    settings: Settings, env: dict[str, str], server: Server
) -> list[tuple[str, Connect]]:
    """The ways in, each opening an MCP client session that acts as the given API key. A test
    runs over each in turn: both on SQLite; on PostgreSQL `/mcp` alone, since both ways call
    the same tools over the same services, and `livehook mcp` on PostgreSQL is held by the
    stdio tests below (a bad key, a key revoked while it runs, the README's configuration). A
    `livehook mcp` start costs ~2 s of CPU, the MCP SDK's import mostly."""
    stdio = ("stdio", lambda key: over_stdio(env, key))
    http = ("http", lambda key: over_http(server.base, key))
    return [stdio, http] if settings.is_embedded else [http]


async def test_the_tools_their_schemas_and_the_catalog_resources_are_listed(
    transports: list[tuple[str, Connect]], full_key: str
) -> None:
    for transport, connect in transports:
        async with connect(full_key) as mcp:
            tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}
            assert set(tools) == TOOLS, transport
            _check_schemas(tools)
            await _check_catalog(mcp)


def _check_schemas(tools: dict[str, Any]) -> None:
    for tool in tools.values():
        assert tool.description and tool.output_schema, tool.name
    verify_tool = tools["verify_human_presence"]
    assert set(verify_tool.input_schema["properties"]) == {
        "model",
        "external_id",
        "external_tracker",
        "tenant_metadata",
        "callback_url",
        "callback_profile",
    }
    assert {"session_id", "status", "verification_url"} <= set(
        verify_tool.output_schema["properties"]
    )
    assert "callback_url" in verify_tool.description
    assert "every 1-2 seconds" in verify_tool.description
    status_tool = tools["check_verification_status"]
    assert status_tool.input_schema["required"] == ["session_id"]
    assert {"status", "stages", "result", "error", "ended"} <= set(
        status_tool.output_schema["properties"]
    )
    assert "secret" in tools["create_webhook"].output_schema["properties"]
    assert "secret" not in json.dumps(tools["list_webhooks"].output_schema)


async def _check_catalog(mcp: ClientSession) -> None:
    listed = await call(mcp, "list_event_types")
    assert [t["name"] for t in listed["event_types"]] == list(EVENT_TYPES)
    resources = (await mcp.list_resources()).resources
    assert [str(r.uri) for r in resources] == ["livehook://event-types"]
    whole = json.loads((await mcp.read_resource("livehook://event-types")).contents[0].text)
    assert [t["name"] for t in whole] == list(EVENT_TYPES)
    one = (await mcp.read_resource("livehook://event-types/verification.completed")).contents
    entry = json.loads(one[0].text)
    for fmt in ("full", "thin"):
        # The schema an agent reads accepts the example it reads beside it.
        jsonschema.validate(entry["examples"][fmt], entry["schemas"][fmt])
    assert entry["examples"]["full"]["data"]["verdict"] in ("live", "fake")


async def test_an_agent_verifies_a_human_and_the_signed_callback_and_the_status_agree(
    transports: list[tuple[str, Connect]],
    api: httpx.AsyncClient,
    services: Services,
    receiver: Receiver,
    account_name: str,
) -> None:
    created = await services.keys.create(account_name=account_name, name="agent")
    for transport, connect in transports:
        callback = receiver.url(f"/ok/{transport}")
        async with connect(created.plaintext) as mcp:
            started = await call(
                mcp,
                "verify_human_presence",
                model=MODEL,
                external_id="user-42",
                external_tracker=transport,
                tenant_metadata={"plan": "pro"},
                callback_url=callback,
                callback_profile="moveris",
            )
            session_id = started["session_id"]
            assert started["status"] == "pending"
            assert started["verification_url"] == VERIFICATION_URL.format(session_id=session_id)
            assert started["callback_url"] == callback
            pending = await call(mcp, "check_verification_status", session_id=session_id)
            assert (pending["ended"], pending["stage"]) == (False, "verification.initialized")

            # The person goes through the flow; the verification engine reports to the API.
            key, path = auth(created.plaintext), f"/v1/sessions/{session_id}"
            for stage in JOURNEY:
                data(await api.post(f"{path}/stages", json={"stage": stage}, headers=key))
            data(await api.post(f"{path}/result", json=LIVE, headers=key))

            await receiver.wait_for(1, within=20, path=f"/ok/{transport}")
            delivered = receiver.at(f"/ok/{transport}")[0]
            assert delivered.header("User-Agent") == "Moveris-Webhook/1.0"  # the profile asked
            event = verify(delivered.body, dict(delivered.headers), secret=created.callback_secret)
            assert (event["event"], event["session_id"]) == ("verification.completed", session_id)
            assert event["data"]["verdict"] == "live"
            assert event["data"]["tenant_metadata"] == {"plan": "pro"}

            status = await call(mcp, "check_verification_status", session_id=session_id)
            assert (status["ended"], status["status"]) == (True, "completed")
            assert status["result"]["verdict"] == "live"
            assert status["error"] is None and status["ended_at"] is not None
            stages = {s["stage"]: s for s in status["stages"]}
            assert list(stages) == [
                "verification.initialized",
                *JOURNEY,
                "liveness.passed",
                "verification.completed",
            ]
            assert stages["verification.completed"]["event_id"] == event["id"]

            funnel = await call(mcp, "get_funnel", external_tracker=transport)
            assert funnel["initialized"] == 1
            done = [s for s in funnel["stages"] if s["stage"] == "verification.completed"]
            assert done[0]["sessions"] == 1


async def test_scopes_and_accounts_are_checked_as_the_api_checks_them(
    transports: list[tuple[str, Connect]],
    api: httpx.AsyncClient,
    services: Services,
    full_key: str,
    account_name: str,
) -> None:
    reader = (
        await services.keys.create(
            account_name=account_name, name="reader", scopes=["sessions:read"]
        )
    ).plaintext
    other = await services.keys.create(account_name=f"{account_name}-other", name="admin")
    other_key = other.plaintext
    new_session = {"model": MODEL}
    ours = data(await api.post("/v1/sessions", json=new_session, headers=auth(full_key)), 201)
    theirs = data(await api.post("/v1/sessions", json=new_session, headers=auth(other_key)), 201)
    api_refuses_session = error(
        await api.post("/v1/sessions", json=new_session, headers=auth(reader)), 403, "forbidden"
    )["message"]
    api_refuses_webhook = error(
        await api.post("/v1/webhooks", json={"url": "https://example.com/h"}, headers=auth(reader)),
        403,
        "forbidden",
    )["message"]
    api_not_found = error(
        await api.get(f"/v1/sessions/{theirs['id']}", headers=auth(reader)), 404, "not_found"
    )["message"]
    for _, connect in transports:
        async with connect(reader) as mcp:
            said = await refusal(mcp, "verify_human_presence", model=MODEL)
            assert said.endswith(api_refuses_session)
            said = await refusal(mcp, "create_webhook", url="https://example.com/h")
            assert said.endswith(api_refuses_webhook) and "`webhooks:write`" in said
            # Within its scope the key works, on its own account's sessions only.
            status = await call(mcp, "check_verification_status", session_id=ours["id"])
            assert status["session_id"] == ours["id"]
            said = await refusal(mcp, "check_verification_status", session_id=theirs["id"])
            assert said.endswith(api_not_found) and theirs["id"] in said
    assert data(await api.get("/v1/webhooks", headers=auth(full_key)))["items"] == []
    assert len(data(await api.get("/v1/sessions", headers=auth(full_key)))["items"]) == 1


BAD_INPUT = [
    ({"model": "mixed-7-v9"}, "model: Value error, unknown model 'mixed-7-v9'"),
    ({"tenant_metadata": "not an object"}, "tenant_metadata: Input should be a valid dict"),
    ({"callback_url": "ftp://example.com/cb"}, "URL must use https or http"),
    ({"external_id": "x" * 300}, "external_id: String should have at most 255 characters"),
]


async def test_bad_input_is_answered_as_a_tool_error_and_stores_nothing(
    transports: list[tuple[str, Connect]], api: httpx.AsyncClient, full_key: str
) -> None:
    for _, connect in transports:
        async with connect(full_key) as mcp:
            for arguments, expected in BAD_INPUT:
                said = await refusal(mcp, "verify_human_presence", **arguments)
                assert expected in said
                assert "x" * 300 not in said  # the values sent are not echoed back
            missing = await refusal(mcp, "check_verification_status")
            assert "session_id: Field required" in missing
            unknown = await refusal(mcp, "send_test_event", webhook_id="wh_x", event_type="nope")
            assert "unknown event type 'nope'" in unknown
            # The server is unharmed: the next call works.
            assert (await call(mcp, "list_webhooks"))["items"] == []
    assert data(await api.get("/v1/sessions", headers=auth(full_key)))["items"] == []


async def test_webhook_and_delivery_tools_manage_an_endpoint_end_to_end(
    transports: list[tuple[str, Connect]], full_key: str, receiver: Receiver
) -> None:
    for transport, connect in transports:
        async with connect(full_key) as mcp:
            await _manage_a_webhook(mcp, receiver, f"/ok/{transport}")


async def _manage_a_webhook(mcp: ClientSession, receiver: Receiver, path: str) -> None:
    created = await call(
        mcp, "create_webhook", url=receiver.url(path), events=["verification.completed"]
    )
    secret = created["secret"]
    assert secret.startswith("whsec_")
    listed = await call(mcp, "list_webhooks")
    assert [w["id"] for w in listed["items"]] == [created["id"]]
    assert secret not in json.dumps(listed)
    updated = await call(
        mcp, "update_webhook", webhook_id=created["id"], description="agent", model=MODEL
    )
    assert (updated["description"], updated["events"]) == ("agent", ["verification.completed"])
    assert updated["model"] == MODEL and "secret" not in updated
    updated = await call(mcp, "update_webhook", webhook_id=created["id"], all_models=True)
    assert (updated["description"], updated["model"]) == ("agent", None)

    queued = await call(mcp, "send_test_event", webhook_id=created["id"])
    await receiver.wait_for(1, within=20, path=path)
    first = receiver.at(path)[0]
    event = verify(first.body, dict(first.headers), secret=secret)
    assert (event["id"], event["test"]) == (queued["event_id"], True)
    detail = await _settled(mcp, queued["id"])
    assert detail["request_body"] == first.body.decode()
    assert detail["attempts"][0]["response_status"] == 200

    found = await call(mcp, "list_deliveries", webhook_id=created["id"], status="succeeded")
    assert [d["id"] for d in found["items"]] == [queued["id"]]
    none = await call(mcp, "list_deliveries", webhook_id=created["id"], status="failed")
    assert none["items"] == []

    again = await call(mcp, "redeliver", delivery_id=queued["id"])
    assert again["event_id"] == queued["event_id"]
    await receiver.wait_for(2, within=20, path=path)
    assert receiver.at(path)[1].body == first.body

    assert (await call(mcp, "delete_webhook", webhook_id=created["id"]))["deleted"] is True
    assert (await call(mcp, "list_webhooks"))["items"] == []
    gone = await refusal(mcp, "send_test_event", webhook_id=created["id"])
    assert f"webhook {created['id']} not found" in gone


async def _settled(mcp: ClientSession, delivery_id: str) -> dict[str, Any]:
    """The delivery once its attempt is recorded (the worker records after the receiver
    answers, so the answer can arrive before the record)."""
    async with asyncio.timeout(20):
        while True:
            detail = await call(mcp, "get_delivery", delivery_id=delivery_id)
            if detail["status"] != "pending":
                return detail
            await asyncio.sleep(0.05)


async def test_http_without_a_working_key_gets_the_apis_401(server: Server, full_key: str) -> None:
    async with httpx.AsyncClient(base_url=server.base) as client:
        for headers, message in [
            ({}, "missing API key: send `Authorization: Bearer <key>`"),
            ({"Authorization": "Bearer lh_nope"}, "invalid or revoked API key"),
            ({"Authorization": "Basic abc"}, "malformed Authorization header"),
        ]:
            response = await client.post("/mcp", json={}, headers=headers)
            assert error(response, 401, "unauthorized")["message"].startswith(message)
            api = await client.get("/v1/webhooks", headers=headers)
            assert error(api, 401)["message"] == response.json()["message"]
    async with over_http(server.base, full_key, scheme="ApiKey") as mcp:
        assert (await call(mcp, "list_webhooks"))["items"] == []


def test_stdio_with_a_bad_key_exits_with_a_clear_error(env: dict[str, str]) -> None:
    result = run_cli("mcp", env=env | {"LIVEHOOK_API_KEY": "lh_nope"})
    assert result.returncode == 1
    assert "invalid or revoked API key" in result.stderr
    assert result.stdout == ""  # stdout belongs to the protocol


def _readme_configs() -> list[dict[str, Any]]:
    """The `mcpServers` entries the README tells agent developers to add."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## AI agents (MCP)")[1].split("\n## ")[0]
    blocks = re.findall(r"```json\n(.*?)```", section, re.DOTALL)
    return [json.loads(block)["mcpServers"]["livehook"] for block in blocks]


async def test_the_readmes_configurations_connect_an_agent(
    env: dict[str, str], server: Server, full_key: str
) -> None:
    http_config, stdio_config = _readme_configs()
    assert http_config["type"] == "http" and http_config["url"].endswith("/mcp")
    headers = {k: v.replace("lh_…", full_key) for k, v in http_config["headers"].items()}
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        streamable_http_client(f"{server.base}/mcp", http_client=http) as (read, write, *_),
        ClientSession(read, write) as mcp,
    ):
        await mcp.initialize()
        assert (await call(mcp, "list_webhooks"))["items"] == []

    placeholders = {
        "lh_…": full_key,
        "postgresql://…": env["LIVEHOOK_DATABASE_URL"],
        "…": env["LIVEHOOK_SECRET_KEY"],
    }
    host_env = {k: placeholders.get(v, v) for k, v in stdio_config["env"].items()}
    # The host starts the `livehook` command installed beside this interpreter.
    command = str(Path(sys.executable).parent / stdio_config["command"])
    params = StdioServerParameters(command=command, args=stdio_config["args"], env=env | host_env)
    async with (
        stdio_client(params) as (read, write),
        ClientSession(read, write) as mcp,
    ):
        await mcp.initialize()
        started = await call(mcp, "verify_human_presence")
        assert started["verification_url"].endswith(started["session_id"])


async def test_a_key_revoked_while_stdio_runs_stops_working_at_once(
    env: dict[str, str], services: Services, account_name: str
) -> None:
    created = await services.keys.create(account_name=account_name, name="agent")
    async with over_stdio(env, created.plaintext) as mcp:
        assert (await call(mcp, "list_webhooks"))["items"] == []
        await services.keys.revoke(created.key.id)
        assert (await refusal(mcp, "list_webhooks")).endswith("invalid or revoked API key")
