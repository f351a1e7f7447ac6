"""The MCP SDK's own client, connected as an agent host connects: to a real `livehook mcp`
subprocess over stdio, or to `/mcp` on a real `livehook serve` over streamable HTTP."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from tests.support.processes import LIVEHOOK


@asynccontextmanager
async def over_stdio(env: dict[str, str], key: str) -> AsyncIterator[ClientSession]:
    """`livehook mcp` started by the client, its key in LIVEHOOK_API_KEY."""
    params = StdioServerParameters(
        command=LIVEHOOK[0], args=[*LIVEHOOK[1:], "mcp"], env=env | {"LIVEHOOK_API_KEY": key}
    )
    async with (
        stdio_client(params, errlog=sys.stderr) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@asynccontextmanager
async def over_http(base: str, key: str, scheme: str = "Bearer") -> AsyncIterator[ClientSession]:
    """`/mcp` on a running `livehook serve`, the key in the Authorization header."""
    headers = {"Authorization": f"{scheme} {key}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(f"{base}/mcp", http_client=http) as (read, write, *_),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    """A tool's structured answer, after checking that it succeeded."""
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return result.structured_content


async def refusal(session: ClientSession, tool: str, **arguments: Any) -> str:
    """The text of a tool error, after checking that the call was answered as one."""
    result = await session.call_tool(tool, arguments)
    assert result.is_error, result
    return text_of(result)


def text_of(result: CallToolResult) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)
