"""`/mcp` in-process: the SDK loads on the first request, once, however many arrive together."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from livehook.config import Settings
from livehook.mcp_server import server
from livehook.services.registry import Services
from tests.support.app import create_app
from tests.support.http import auth

LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


async def test_concurrent_first_requests_are_all_answered_by_one_server(
    settings: Settings, services: Services, full_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = []
    build_server = server.build_server

    def counted(*args: Any, **kwargs: Any) -> Any:
        builds.append(1)
        return build_server(*args, **kwargs)

    monkeypatch.setattr(server, "build_server", counted)
    app = create_app(settings, services)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        headers = auth(full_key) | MCP_HEADERS
        answers = await asyncio.gather(
            *(client.post("/mcp", json=LIST_TOOLS, headers=headers) for _ in range(5))
        )
        # The API answers beside it, and /mcp again once built.
        assert (await client.get("/healthz")).status_code == 200
        answers.append(await client.post("/mcp", json=LIST_TOOLS, headers=headers))
    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    names = [sorted(t["name"] for t in a.json()["result"]["tools"]) for a in answers]
    assert len(names[0]) == 12 and names == [names[0]] * 6
    assert len(builds) == 1
