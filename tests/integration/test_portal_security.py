"""The portal's guards without a browser: cookies, CSRF, the sign-in limit, capabilities,
accounts kept apart (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from livehook.composition import build_app
from livehook.config import Settings
from livehook.services.registry import Services
from livehook.services.webhooks import WebhookDraft
from tests.support.portal import PASSWORD, csrf_token, post_form, sign_in, sign_in_by_link


def _cookie_header(answer: httpx.Response, name: str) -> str:
    found = [h for h in answer.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert found, f"no {name} cookie set"
    return found[0].lower()


async def test_pages_need_a_sign_in(client: httpx.AsyncClient) -> None:
    answer = await client.get("/portal/keys")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/portal/signin?next=%2Fportal%2Fkeys"


async def test_session_cookie_is_signed_httponly_lax(
    client: httpx.AsyncClient, services: Services
) -> None:
    answer = await sign_in(client, services, "acme", "dev@example.com")
    cookie = _cookie_header(answer, "livehook_session")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/portal" in cookie
    assert "secure" not in cookie  # plain HTTP: a Secure cookie would never come back
    assert (await client.get("/portal/keys")).status_code == 200

    # One altered character of the signature and the cookie is worth nothing.
    value = client.cookies["livehook_session"]
    client.cookies.set("livehook_session", value[:-1] + ("0" if value[-1] != "0" else "1"))
    assert (await client.get("/portal/keys")).status_code == 303


async def test_cookies_are_secure_over_https(settings: Settings, services: Services) -> None:
    app = build_app(settings, services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://portal.test") as c:
        first = await c.get("/portal/signin")
        assert "secure" in _cookie_header(first, "livehook_csrf")
        answer = await sign_in(c, services, "acme", "dev@example.com")
        assert "secure" in _cookie_header(answer, "livehook_session")


async def test_forms_without_a_valid_csrf_token_are_refused(
    client: httpx.AsyncClient, services: Services
) -> None:
    await services.portal.create_user(
        account_name="acme", email="dev@example.com", password=PASSWORD
    )
    await client.get("/portal/signin")  # the CSRF cookie is set
    form = {"email": "dev@example.com", "password": PASSWORD}
    for token in (None, "0" * 64):
        data = form if token is None else {**form, "csrf_token": token}
        answer = await client.post("/portal/signin", data=data)
        assert answer.status_code == 403
        assert "livehook_session" not in answer.headers.get("set-cookie", "")


async def test_a_token_from_another_browser_does_not_fit(
    client: httpx.AsyncClient, services: Services, settings: Settings
) -> None:
    await services.portal.create_user(
        account_name="acme", email="dev@example.com", password=PASSWORD
    )
    app = build_app(settings, services)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://livehook.test"
    ) as attacker:
        stolen = await csrf_token(attacker)
    await client.get("/portal/signin")
    answer = await client.post(
        "/portal/signin",
        data={"email": "dev@example.com", "password": PASSWORD, "csrf_token": stolen},
    )
    assert answer.status_code == 403


async def test_cross_origin_posts_are_refused_even_with_a_token(
    client: httpx.AsyncClient, services: Services
) -> None:
    await sign_in(client, services, "acme", "dev@example.com")
    token = await csrf_token(client, "/portal/keys")
    answer = await client.post(
        "/portal/keys",
        data={"csrf_token": token, "name": "evil"},
        headers={"Origin": "https://evil.example"},
    )
    assert answer.status_code == 403
    assert await services.keys.list_page() == []


async def test_htmx_requests_carry_the_token_in_a_header(
    client: httpx.AsyncClient, services: Services
) -> None:
    await sign_in(client, services, "acme", "dev@example.com")
    token = await csrf_token(client, "/portal/keys")
    refused = await client.post("/portal/keys", data={"name": "ci"}, headers={"HX-Request": "true"})
    assert refused.status_code == 403
    accepted = await client.post(
        "/portal/keys", data={"name": "ci"}, headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert accepted.status_code == 200
    assert "shown only once" in accepted.text


async def test_sign_in_is_rate_limited(client: httpx.AsyncClient, services: Services) -> None:
    await services.portal.create_user(
        account_name="acme", email="dev@example.com", password=PASSWORD
    )
    for _ in range(5):
        wrong = await post_form(
            client,
            "/portal/signin",
            "/portal/signin",
            {"email": "dev@example.com", "password": "wrong password"},
        )
        assert wrong.status_code == 401
        assert "wrong email or password" in wrong.text
    blocked = await post_form(
        client,
        "/portal/signin",
        "/portal/signin",
        {"email": "dev@example.com", "password": PASSWORD},
    )
    assert blocked.status_code == 429
    assert "too many failed sign-ins" in blocked.text


async def test_sign_out_ends_the_session(client: httpx.AsyncClient, services: Services) -> None:
    await sign_in(client, services, "acme", "dev@example.com")
    cookie = client.cookies["livehook_session"]
    answer = await post_form(client, "/portal/keys", "/portal/signout")
    assert answer.status_code == 303
    client.cookies.set("livehook_session", cookie)  # a copy kept by a thief
    assert (await client.get("/portal/keys")).status_code == 303


async def test_link_signs_in_once_and_leaves_the_address_bar(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    principal = await services.keys.authenticate(full_key)
    assert principal is not None
    link = await services.portal.mint_link(principal, ["view"])
    answer = await client.get(f"/portal/link?token={link.token}")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/portal/keys"
    assert answer.headers["referrer-policy"] == "same-origin"
    page = await client.get("/portal/keys")
    assert page.status_code == 200 and "acme" in page.text
    client.cookies.clear()
    again = await client.get(f"/portal/link?token={link.token}")
    assert again.status_code == 401


@pytest.fixture
async def view_only(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> AsyncIterator[httpx.AsyncClient]:
    await sign_in_by_link(client, services, full_key, [])
    yield client


async def test_view_capability_reads_but_cannot_change(
    view_only: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    principal = await services.keys.authenticate(full_key)
    assert principal is not None
    created = await services.webhooks.create(principal, WebhookDraft(url="http://127.0.0.1:9/h"))
    hook = created.webhook.id
    page = await view_only.get(f"/portal/webhooks/{hook}")
    assert page.status_code == 200
    assert "Send test event" not in page.text and "Rotate secret" not in page.text
    token = await csrf_token(view_only, "/portal/keys")
    for action, data in (
        ("/portal/keys", {"name": "x"}),
        (f"/portal/webhooks/{hook}/test", {}),
        (f"/portal/webhooks/{hook}/status", {"status": "disabled"}),
        (f"/portal/webhooks/{hook}/delete", {}),
        (f"/portal/webhooks/{hook}/rotate", {}),
        (f"/portal/keys/{principal.key_id}/revoke", {}),
    ):
        answer = await view_only.post(action, data={"csrf_token": token, **data})
        assert answer.status_code == 403, action
    assert (await services.webhooks.get(principal, hook)).status == "active"
    assert len(await services.keys.list_page()) == 1


async def test_manage_without_secrets_cannot_rotate(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    principal = await services.keys.authenticate(full_key)
    assert principal is not None
    hook = await services.webhooks.create(principal, WebhookDraft(url="http://127.0.0.1:9/h"))
    await sign_in_by_link(client, services, full_key, ["manage"])
    page = f"/portal/webhooks/{hook.webhook.id}"
    assert (await post_form(client, page, f"{page}/rotate")).status_code == 403
    disabled = await post_form(client, page, f"{page}/status", {"status": "disabled"})
    assert disabled.status_code == 303


async def test_another_accounts_objects_are_not_found(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    principal = await services.keys.authenticate(full_key)
    assert principal is not None
    hook = await services.webhooks.create(principal, WebhookDraft(url="http://127.0.0.1:9/h"))
    delivery = await services.deliveries.send_test(
        principal, hook.webhook.id, "verification.completed"
    )
    await sign_in(client, services, "globex", "eve@globex.example")
    for page in (
        f"/portal/webhooks/{hook.webhook.id}",
        f"/portal/webhooks/{hook.webhook.id}/deliveries",
        f"/portal/deliveries/{delivery.id}",
        f"/portal/keys/{principal.key_id}",
    ):
        answer = await client.get(page)
        assert answer.status_code == 404, page
        assert hook.webhook.url not in answer.text
    token = await csrf_token(client, "/portal/keys")
    answer = await client.post(
        f"/portal/webhooks/{hook.webhook.id}/delete", data={"csrf_token": token}
    )
    assert answer.status_code == 404
    assert await services.webhooks.get(principal, hook.webhook.id)


async def test_malformed_form_fields_get_a_page_not_a_server_error(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    principal = await services.keys.authenticate(full_key)
    assert principal is not None
    hook = await services.webhooks.create(principal, WebhookDraft(url="http://127.0.0.1:9/h"))
    await sign_in(client, services, "acme", "dev@example.com")
    page = f"/portal/webhooks/{hook.webhook.id}"
    answer = await post_form(client, page, f"{page}/rotate", {"overlap_seconds": "lots"})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "The form was refused" in answer.text
