"""MCP tools for AI agents: verify a human, check the verification, manage webhooks.

Reachable over stdio (`livehook mcp`) and streamable HTTP (`/mcp` on `livehook serve`); every
tool calls the same services, with the same scope checks and messages, as the HTTP API.

The package itself imports nothing: `http.py`, which `serve` loads with the app, must load
without the SDK (it imports `server.py` and `access.py` on the first /mcp request).
"""
