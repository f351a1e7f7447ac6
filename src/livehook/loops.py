"""The event loop and HTTP parser of the long-running processes (`serve`, its worker processes,
`livehook worker`): uvloop and httptools when installed (the `server` extra has them), else the
standard library's asyncio and uvicorn's pure-Python h11.

uvloop's loop and socket writes cost less CPU per request than asyncio's, and httptools parses
HTTP in C; both are optional, so a platform without wheels still runs on the fallbacks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

T = TypeVar("T")


def _installed(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def uvicorn_choices() -> tuple[Literal["uvloop", "asyncio"], Literal["httptools", "h11"]]:
    """uvicorn's ``loop`` and ``http`` options: the fast ones when installed."""
    return (
        "uvloop" if _installed("uvloop") else "asyncio",
        "httptools" if _installed("httptools") else "h11",
    )


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop's loop when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)
