"""Portal pages over the real services (no browser): what a person sees after each action."""

from __future__ import annotations

import re

import httpx

from livehook.domain.accounts import Principal
from livehook.services.registry import Services
from tests.support.portal import csrf_token, post_form, sign_in

WEBHOOK_FORM = {
    "url": "http://127.0.0.1:9/hooks",
    "model": "mixed-30-v2",
    "events": "verification.completed",
    "payload_format": "full",
    "signature_scheme": "hmac-sha256",
    "retry_policy": "standard",
    "timeout_seconds": "5",
    "headers": "Authorization: Bearer abc123\nX-Team: ops",
}


async def _key_id(client: httpx.AsyncClient) -> str:
    created = await post_form(client, "/portal/keys", "/portal/keys", {"name": "production"})
    assert created.status_code == 200
    match = re.search(r'href="/portal/keys/(key_[^"]+)"', created.text)
    assert match
    return match.group(1)


def _error_beside(html: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-error" role="alert">([^<]+)</p>', html)
    assert match, f"no error beside {field}"
    return match.group(1)


async def test_key_is_shown_once(client: httpx.AsyncClient, services: Services) -> None:
    await sign_in(client, services, "acme", "dev@example.com")
    created = await post_form(client, "/portal/keys", "/portal/keys", {"name": "production"})
    key = re.search(r'value="(lh_[^"]+)"', created.text)
    secret = re.search(r'value="(whsec_[^"]+)"', created.text)
    assert key and secret
    assert created.headers["cache-control"] == "no-store"
    principal = await services.keys.authenticate(key.group(1))
    assert principal is not None and principal.account_name == "acme"
    for page in ("/portal/keys", f"/portal/keys/{principal.key_id}"):
        text = (await client.get(page)).text
        assert key.group(1) not in text and secret.group(1) not in text


async def test_add_webhook_shows_the_secret_once_and_refusals_beside_fields(
    client: httpx.AsyncClient, services: Services
) -> None:
    await sign_in(client, services, "acme", "dev@example.com")
    key_id = await _key_id(client)
    new = f"/portal/keys/{key_id}/webhooks/new"
    action = f"/portal/keys/{key_id}/webhooks"

    added = await post_form(client, new, action, WEBHOOK_FORM)
    assert added.status_code == 200
    assert "it is shown only once" in added.text
    secret = re.search(r'value="(whsec_[^"]+)"', added.text)
    hook = re.search(r'href="/portal/webhooks/(wh_[^"]+)"', added.text)
    assert secret and hook
    detail = await client.get(f"/portal/webhooks/{hook.group(1)}")
    edit = await client.get(f"/portal/webhooks/{hook.group(1)}/edit")
    for page in (detail, edit, await client.get(f"/portal/keys/{key_id}")):
        assert secret.group(1) not in page.text
        assert "abc123" not in page.text  # a credential header stays redacted
    assert "[redacted]" in edit.text

    again = await post_form(client, new, action, WEBHOOK_FORM)
    assert again.status_code == 409
    assert "already exists" in _error_beside(again.text, "url")
    assert 'value="http://127.0.0.1:9/hooks"' in again.text  # what was typed is kept

    for field, change, words in (
        ("url", {"url": "ftp://example.com"}, "http"),
        ("timeout_seconds", {"timeout_seconds": "99"}, "between 1 and 30"),
        ("timeout_seconds", {"timeout_seconds": "soon"}, "whole number"),
        ("retry_policy", {"retry_policy": "custom", "retry_delays": "1, x"}, "whole seconds"),
        ("headers", {"headers": "no colon here"}, "Name: value"),
        ("model", {"model": "mixed-7-v9"}, "unknown model"),
    ):
        refused = await post_form(client, new, action, {**WEBHOOK_FORM, **change})
        assert refused.status_code == 422, field
        assert words in _error_beside(refused.text, field), field


async def test_test_event_appears_in_the_filtered_log(
    client: httpx.AsyncClient, services: Services
) -> None:
    await sign_in(client, services, "acme", "dev@example.com")
    key_id = await _key_id(client)
    added = await post_form(
        client,
        f"/portal/keys/{key_id}/webhooks/new",
        f"/portal/keys/{key_id}/webhooks",
        WEBHOOK_FORM,
    )
    hook = re.search(r'href="/portal/webhooks/(wh_[^"]+)"', added.text)
    assert hook
    page = f"/portal/webhooks/{hook.group(1)}"
    sent = await post_form(client, page, f"{page}/test", {"event_type": "liveness.started"})
    assert sent.status_code == 303
    log = await client.get(sent.headers["location"])
    assert "liveness.started" in log.text and ">test<" in log.text
    assert 'hx-trigger="every 2s"' in log.text  # pending: the table refreshes itself

    matching = await client.get(f"{page}/deliveries?event=liveness.started&status=pending")
    assert "liveness.started" in matching.text
    other = await client.get(f"{page}/deliveries?event=verification.completed")
    assert "No deliveries match." in other.text
    bad = await client.get(f"{page}/deliveries?start=yesterday&status=lost")
    assert bad.status_code == 200
    assert "use a date" in _error_beside(bad.text, "start")
    assert "pick a status" in _error_beside(bad.text, "status")

    delivery = re.search(r'href="/portal/deliveries/(dlv_[^"]+)"', log.text)
    assert delivery
    detail = await client.get(f"/portal/deliveries/{delivery.group(1)}")
    account_id = (await services.keys.list_page())[0].account_id
    stored = await services.deliveries.get(
        Principal(account_id, "acme", key_id="", scopes=()), delivery.group(1)
    )
    assert stored.delivery.request_body is not None
    raw = re.search(r'<pre class="code" id="raw-body" tabindex="0">([^<]+)</pre>', detail.text)
    assert raw and raw.group(1).replace("&#34;", '"') == stored.delivery.request_body


async def test_trigger_runs_a_session_the_funnel_counts(
    client: httpx.AsyncClient, services: Services
) -> None:
    await sign_in(client, services, "acme", "dev@example.com")
    key_id = await _key_id(client)
    everything = {k: v for k, v in WEBHOOK_FORM.items() if k != "events"}
    everything.update(url="http://127.0.0.1:9/all", model="")
    added = await post_form(
        client,
        f"/portal/keys/{key_id}/webhooks/new",
        f"/portal/keys/{key_id}/webhooks",
        everything,
    )
    assert added.status_code == 200
    triggered = await post_form(
        client,
        f"/portal/keys/{key_id}",
        f"/portal/keys/{key_id}/trigger",
        {"event": "liveness.failed", "model": "mixed-60-v2"},
    )
    assert triggered.status_code == 303
    session = await client.get(triggered.headers["location"])
    assert "liveness.failed" in session.text
    # The polling view lists what was sent for the session: one delivery per event here.
    assert session.text.count("/portal/deliveries/dlv_") == 7, session.text
    funnel = await client.get("/portal/funnel?model=mixed-60-v2")
    assert re.search(r'<strong id="initialized">1</strong>', funnel.text)
    none = await client.get("/portal/funnel?model=mixed-10-v2")
    assert re.search(r'<strong id="initialized">0</strong>', none.text)
    assert (await client.get("/portal/funnel?start=nope")).status_code == 422
    token = await csrf_token(client, "/portal/keys")
    bad = await client.post(
        f"/portal/keys/{key_id}/trigger", data={"csrf_token": token, "event": "nope"}
    )
    assert bad.status_code == 422
