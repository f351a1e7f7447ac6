"""Migration 0003 (wire profiles) on a database holding data: endpoints that chose the
`standard-webhooks` scheme become the profile of that name, the rest `livehook`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text

from livehook.storage.database import Database
from livehook.storage.tables import webhooks
from tests.support.migrations import to_revision

NOW = datetime(2026, 12, 1, tzinfo=UTC)


async def test_existing_endpoints_keep_sending_as_they_did(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(to_revision("0001"))
        await conn.execute(
            text("INSERT INTO accounts (id, name, created_at) VALUES ('acct_1', 'a', :t)"),
            {"t": NOW},
        )
        await conn.execute(
            text(
                "INSERT INTO api_keys (id, account_id, name, key_hash, key_prefix, scopes, "
                "callback_secret, created_at) VALUES ('key_1', 'acct_1', 'k', 'h', 'lh_', '[]', "
                "'s', :t)"
            ),
            {"t": NOW},
        )
        for hook_id, scheme in (("wh_1", "hmac-sha256"), ("wh_2", "standard-webhooks")):
            await conn.execute(
                text(
                    "INSERT INTO webhooks (id, account_id, api_key_id, url, description, events, "
                    "model, payload_format, signature_scheme, retry_policy, timeout_seconds, "
                    "status, created_at, updated_at) VALUES (:id, 'acct_1', 'key_1', :url, '', "
                    "'[]', '', 'full', :scheme, '\"standard\"', 5, 'active', :t, :t)"
                ),
                {
                    "id": hook_id,
                    "url": f"https://example.com/{hook_id}",
                    "scheme": scheme,
                    "t": NOW,
                },
            )
        await conn.run_sync(to_revision("head"))
        rows = (await conn.execute(select(webhooks.c.id, webhooks.c.wire_profile))).all()
    assert sorted(tuple(r) for r in rows) == [("wh_1", "livehook"), ("wh_2", "standard-webhooks")]
    assert await db.needs_migration() is False
