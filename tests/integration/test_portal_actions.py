"""Portal actions on a webhook and a key, through the pages a person would use."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from livehook.domain.accounts import Principal
from livehook.services.registry import Services
from livehook.services.webhooks import WebhookDraft
from tests.support.portal import post_form, sign_in

SECRET = re.compile(r'value="(whsec_[^"]+)"')


@pytest.fixture
async def acme(client: httpx.AsyncClient, services: Services, full_key: str) -> Principal:
    await sign_in(client, services, "acme", "dev@example.com")
    principal = await services.keys.authenticate(full_key)
    assert principal is not None
    return principal


async def _webhook(services: Services, principal: Principal) -> str:
    draft = WebhookDraft(url="http://127.0.0.1:9/h", headers={"Authorization": "Bearer s3cret"})
    return (await services.webhooks.create(principal, draft)).webhook.id


async def test_editing_keeps_a_redacted_header_and_changes_the_rest(
    client: httpx.AsyncClient, services: Services, acme: Principal
) -> None:
    hook = await _webhook(services, acme)
    form_page = (await client.get(f"/portal/webhooks/{hook}/edit")).text
    assert "s3cret" not in form_page
    shown = re.search(r'<textarea id="headers"[^>]*>([^<]*)</textarea>', form_page)
    assert shown and shown.group(1) == "Authorization: [redacted]"
    saved = await post_form(
        client,
        f"/portal/webhooks/{hook}/edit",
        f"/portal/webhooks/{hook}/edit",
        {
            "url": "http://127.0.0.1:9/h",
            "timeout_seconds": "12",
            "retry_policy": "custom",
            "retry_delays": "10, 60",
            "headers": shown.group(1),
        },
    )
    assert saved.status_code == 303
    webhook = await services.webhooks.get(acme, hook)
    assert webhook.headers == {"Authorization": "Bearer s3cret"}
    assert (webhook.timeout_seconds, webhook.retry_policy) == (12, [10, 60])


async def test_rotating_shows_the_new_secret_once_with_the_overlap(
    client: httpx.AsyncClient, services: Services, acme: Principal
) -> None:
    hook = await _webhook(services, acme)
    page = f"/portal/webhooks/{hook}"
    rotated = await post_form(client, page, f"{page}/rotate", {"overlap_seconds": "3600"})
    secret = SECRET.search(rotated.text)
    assert secret and "keeps signing beside the new one until" in rotated.text
    async with services.db.transaction() as tx:
        signing = await services.webhooks.signing_secrets(tx, hook, datetime.now(UTC))
    assert signing[0] == secret.group(1) and len(signing) == 2
    assert secret.group(1) not in (await client.get(page)).text


async def test_disable_re_enable_and_delete(
    client: httpx.AsyncClient, services: Services, acme: Principal
) -> None:
    hook = await _webhook(services, acme)
    page = f"/portal/webhooks/{hook}"
    await post_form(client, page, f"{page}/status", {"status": "disabled"})
    shown = (await client.get(page)).text
    assert "disabled by the account" in shown and "Re-enable" in shown
    await post_form(client, page, f"{page}/status", {"status": "active"})
    assert (await services.webhooks.get(acme, hook)).status == "active"

    confirm = await client.get(f"{page}/delete")
    assert "cannot be undone" in confirm.text
    deleted = await post_form(client, f"{page}/delete", f"{page}/delete")
    assert deleted.headers["location"] == f"/portal/keys/{acme.key_id}"
    assert (await client.get(page)).status_code == 404


async def test_recover_queues_failures_since_a_time(
    client: httpx.AsyncClient, services: Services, acme: Principal
) -> None:
    hook = await _webhook(services, acme)
    log = f"/portal/webhooks/{hook}/deliveries"
    since = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    recovered = await post_form(client, log, f"/portal/webhooks/{hook}/recover", {"since": since})
    assert recovered.status_code == 200 and "0 failed deliveries queued again" in recovered.text
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    refused = await post_form(client, log, f"/portal/webhooks/{hook}/recover", {"since": future})
    assert refused.status_code == 422 and "must not be in the future" in refused.text
    garbled = await post_form(client, log, f"/portal/webhooks/{hook}/recover", {"since": "soon"})
    assert garbled.status_code == 422 and "pick the date and time" in garbled.text


async def test_revoking_a_key_asks_first_then_stops_it(
    client: httpx.AsyncClient, services: Services, acme: Principal, full_key: str
) -> None:
    confirm = await client.get(f"/portal/keys/{acme.key_id}/revoke")
    assert "fails at once" in confirm.text
    assert await services.keys.authenticate(full_key) is not None  # asking changed nothing
    revoked = await post_form(
        client, f"/portal/keys/{acme.key_id}/revoke", f"/portal/keys/{acme.key_id}/revoke"
    )
    assert revoked.status_code == 303
    assert await services.keys.authenticate(full_key) is None
    assert "Add webhook" not in (await client.get(f"/portal/keys/{acme.key_id}")).text


async def test_the_webhook_page_charts_outcomes_per_hour(
    client: httpx.AsyncClient, services: Services, acme: Principal
) -> None:
    from sqlalchemy import select, update

    from livehook.storage.tables import deliveries

    hook = await _webhook(services, acme)
    for _ in range(3):
        await services.deliveries.send_test(acme, hook, "verification.completed")
    start_of_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    async with services.db.transaction() as tx:  # as if the worker had sent them
        ids = (
            (await tx.conn.execute(select(deliveries.c.id).where(deliveries.c.webhook_id == hook)))
            .scalars()
            .all()
        )
        for second, delivery_id in enumerate(ids, start=1):  # one hour, different seconds
            await tx.conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id)
                .values(status="failed", created_at=start_of_hour + timedelta(seconds=second))
            )
    page = (await client.get(f"/portal/webhooks/{hook}")).text
    hour = start_of_hour.strftime("%H:00")
    assert f"<td>{hour}</td><td>0</td><td>3</td>" in page
    assert page.count('class="bad-bar"') == 24 + 7
