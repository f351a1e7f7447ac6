"""`livehook prune` forgets idempotency keys older than 24 hours, and keeps newer ones."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from livehook.config import Settings
from livehook.services.registry import Services
from livehook.storage.repositories.idempotency import IdempotencyRepository
from livehook.storage.tables import idempotency_keys
from tests.support.processes import env_sharing, run_cli


async def test_prune_forgets_day_old_idempotency_keys(
    settings: Settings, services: Services, full_key: str
) -> None:
    principal = await services.keys.authenticate(full_key)
    assert principal is not None
    now = datetime.now(UTC)
    async with services.db.transaction() as tx:
        repo = IdempotencyRepository(tx)
        for key, age in (("old", timedelta(hours=25)), ("recent", timedelta(hours=23))):
            assert await repo.claim(principal.account_id, key, "f" * 64, now - age)
            await repo.complete(principal.account_id, key, 201, "{}")
    env = env_sharing(settings)
    result = await asyncio.to_thread(run_cli, "prune", env=env)
    assert result.returncode == 0, result.stderr
    assert "forgot 1 idempotency keys older than 24 hours" in result.stdout
    async with services.db.transaction() as tx:
        left = (await tx.conn.execute(select(idempotency_keys.c.key))).scalars().all()
    assert left == ["recent"]
