"""MCP tools for AI agents: verify a human, check the verification, manage webhooks.

Reachable over stdio (`livehook mcp`) and streamable HTTP (`/mcp` on `livehook serve`); every
tool calls the same services, with the same scope checks and messages, as the HTTP API.
"""

from livehook.mcp_server.access import key_authenticator, request_principal
from livehook.mcp_server.server import build_server

__all__ = ["build_server", "key_authenticator", "request_principal"]
