"""DNS as on a machine without internet: names do not resolve, IP literals pass through."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest


def offline_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the running loop's name lookups fail (registration then accepts the name)."""
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def getaddrinfo(host: Any, port: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.replace(".", "").isdigit():
            return await real(host, port, **kwargs)  # the PostgreSQL driver connects by IP
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
