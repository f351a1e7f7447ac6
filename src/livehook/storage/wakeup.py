"""The in-process wake-up a service sets after a commit that queued deliveries, and a worker
waits on (``notify.py`` sets it from the database's signals). A module of its own: every
command's services hold one, and they need none of the listeners' drivers.
"""

from __future__ import annotations

import asyncio


class Wakeup:
    """A level-triggered signal: ``set`` any number of times, ``wait`` returns once per burst.

    Loop-agnostic until first awaited, so it can be built by a composition root before the
    event loop that uses it exists.
    """

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None
        self._pending = False

    def set(self) -> None:
        self._pending = True
        if self._event is not None:
            self._event.set()

    async def wait(self, timeout: float) -> bool:  # noqa: ASYNC109 -- a poll interval, by design
        """True if woken, False after ``timeout`` seconds; clears the signal either way."""
        if self._event is None:
            self._event = asyncio.Event()
        if self._pending:
            self._event.set()
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
        except TimeoutError:
            return False
        finally:
            self._event.clear()
            self._pending = False
        return True
