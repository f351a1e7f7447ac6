"""Driving the portal over HTTP without a browser: sign in, read the CSRF token, post forms."""

from __future__ import annotations

import re

import httpx

from livehook.services.registry import Services

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


async def csrf_token(client: httpx.AsyncClient, page: str = "/portal/signin") -> str:
    return csrf_of((await client.get(page)).text)


async def post_form(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, str] | None = None
) -> httpx.Response:
    """Open ``page`` for its CSRF token, then post ``data`` to ``action`` as the form would."""
    token = await csrf_token(client, page)
    return await client.post(action, data={"csrf_token": token, **(data or {})})


async def sign_in(
    client: httpx.AsyncClient, services: Services, account: str, email: str
) -> httpx.Response:
    await services.portal.create_user(account_name=account, email=email, password=PASSWORD)
    answer = await post_form(
        client, "/portal/signin", "/portal/signin", {"email": email, "password": PASSWORD}
    )
    assert answer.status_code == 303, answer.text
    return answer


async def sign_in_by_link(
    client: httpx.AsyncClient, services: Services, api_key: str, capabilities: list[str]
) -> None:
    principal = await services.keys.authenticate(api_key)
    assert principal is not None
    link = await services.portal.mint_link(principal, capabilities)
    answer = await client.get(f"/portal/link?token={link.token}")
    assert answer.status_code == 303, answer.text
