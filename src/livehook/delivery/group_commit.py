"""Group commit for finished attempts: one transaction per batch, not per attempt.

While one batch is written the next gathers, so a lone attempt is written at once and a busy
worker writes many per commit (the same idea as a database's own group commit).
"""

from __future__ import annotations

import asyncio
import contextvars
from datetime import timedelta

from livehook.delivery.config import RECORD_BATCH
from livehook.delivery.dispatch import Finished, NewId, record_attempts
from livehook.storage.database import Database


class GroupCommit:
    def __init__(self, db: Database, *, new_id: NewId, disable_after: timedelta) -> None:
        self._db = db
        self._new_id = new_id
        self._disable_after = disable_after
        self._pending: list[tuple[Finished, asyncio.Future[int | None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, finished: Finished) -> int | None:
        """Record ``finished`` with whatever else finished meanwhile: how many operational
        deliveries it queued, or None if its lease was lost (then nothing of it is written)."""
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._pending.append((finished, future))
        if self._writer is None or self._writer.done():
            # A context of its own, not the delivery's whose attempt happened to start it.
            self._writer = asyncio.create_task(
                self._write(), name="livehook-record", context=contextvars.Context()
            )
        return await future

    async def _write(self) -> None:
        while self._pending:
            batch = self._pending[:RECORD_BATCH]
            del self._pending[:RECORD_BATCH]
            try:
                results = await record_attempts(
                    self._db,
                    [finished for finished, _ in batch],
                    new_id=self._new_id,
                    disable_after=self._disable_after,
                )
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
