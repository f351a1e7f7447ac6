"""Portal sign-in on both databases: users, single-use links, sessions, the rate limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from livehook.domain.portal import MANAGE, SECRETS, VIEW
from livehook.services.errors import Conflict, InvalidRequest
from livehook.services.portal import (
    FAILURES_PER_EMAIL,
    PortalService,
    SignInRefused,
    TooManyAttempts,
)
from livehook.services.registry import Services
from livehook.storage.database import Database
from tests.support.app import FAST_PASSWORD_HASHER

PASSWORD = "correct horse battery"


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def portal(db: Database, clock: FakeClock) -> PortalService:
    return PortalService(db, clock, hasher=FAST_PASSWORD_HASHER)


async def test_password_sign_in_gives_every_capability(portal: PortalService) -> None:
    await portal.create_user(account_name="acme", email="Dev@Example.com", password=PASSWORD)
    signed = await portal.sign_in_password("dev@example.com", PASSWORD, "10.0.0.1")
    identity = await portal.identify(signed.token)
    assert identity is not None
    assert (identity.account_name, identity.email) == ("acme", "dev@example.com")
    assert identity.capabilities == (VIEW, MANAGE, SECRETS)


async def test_password_is_stored_as_an_argon2_hash_of_production_cost(db: Database) -> None:
    from sqlalchemy import select

    from livehook.storage.tables import portal_users

    # The service as `livehook serve` builds it (the other tests hash at the smallest cost).
    portal = PortalService(db)
    await portal.create_user(account_name="acme", email="dev@example.com", password=PASSWORD)
    async with db.engine.connect() as conn:
        stored = (await conn.execute(select(portal_users.c.password_hash))).scalar_one()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # RFC 9106's second choice
    assert PASSWORD not in stored
    signed = await portal.sign_in_password("dev@example.com", PASSWORD, "10.0.0.1")
    assert await portal.identify(signed.token) is not None


async def test_wrong_password_and_unknown_email_are_refused_alike(portal: PortalService) -> None:
    await portal.create_user(account_name="acme", email="dev@example.com", password=PASSWORD)
    with pytest.raises(SignInRefused) as wrong:
        await portal.sign_in_password("dev@example.com", "not the password", "10.0.0.1")
    with pytest.raises(SignInRefused) as unknown:
        await portal.sign_in_password("nobody@example.com", PASSWORD, "10.0.0.1")
    assert wrong.value.message == unknown.value.message


async def test_duplicate_email_and_weak_password_are_refused(portal: PortalService) -> None:
    await portal.create_user(account_name="acme", email="dev@example.com", password=PASSWORD)
    with pytest.raises(Conflict):
        await portal.create_user(account_name="other", email="DEV@example.com", password=PASSWORD)
    with pytest.raises(InvalidRequest) as weak:
        await portal.create_user(account_name="acme", email="b@example.com", password="short")
    assert weak.value.details["field"] == "password"
    with pytest.raises(InvalidRequest) as bad_email:
        await portal.create_user(account_name="acme", email="not-an-email", password=PASSWORD)
    assert bad_email.value.details["field"] == "email"


async def test_sign_in_is_rate_limited_per_email_then_released(
    portal: PortalService, clock: FakeClock
) -> None:
    await portal.create_user(account_name="acme", email="dev@example.com", password=PASSWORD)
    for n in range(FAILURES_PER_EMAIL):
        with pytest.raises(SignInRefused):
            await portal.sign_in_password("dev@example.com", "wrong", f"10.0.0.{n}")
    # Even the right password is refused now, from any address: guessing must stay slow.
    with pytest.raises(TooManyAttempts):
        await portal.sign_in_password("dev@example.com", PASSWORD, "10.9.9.9")
    clock.now += timedelta(minutes=16)
    assert await portal.sign_in_password("dev@example.com", PASSWORD, "10.9.9.9")


async def test_sign_in_is_rate_limited_per_address(portal: PortalService) -> None:
    for n in range(20):
        with pytest.raises(SignInRefused):
            await portal.sign_in_password(f"u{n}@example.com", "wrong", "10.0.0.7")
    with pytest.raises(TooManyAttempts):
        await portal.sign_in_password("new@example.com", "wrong", "10.0.0.7")
    with pytest.raises(SignInRefused):  # another address is not held up
        await portal.sign_in_password("new@example.com", "wrong", "10.0.0.8")


async def test_link_works_once_and_carries_its_capabilities(
    portal: PortalService, services: Services
) -> None:
    created = await services.keys.create(account_name="acme")
    principal = await services.keys.authenticate(created.plaintext)
    assert principal is not None
    link = await portal.mint_link(principal, ["manage"])
    assert link.capabilities == (VIEW, MANAGE)
    signed = await portal.sign_in_link(link.token)
    identity = await portal.identify(signed.token)
    assert identity is not None
    assert (identity.account_id, identity.email) == (principal.account_id, None)
    assert identity.capabilities == (VIEW, MANAGE)
    with pytest.raises(SignInRefused):
        await portal.sign_in_link(link.token)


async def test_link_expires(portal: PortalService, services: Services, clock: FakeClock) -> None:
    created = await services.keys.create(account_name="acme")
    principal = await services.keys.authenticate(created.plaintext)
    assert principal is not None
    link = await portal.mint_link(principal, [], expires_in=120)
    clock.now += timedelta(seconds=121)
    with pytest.raises(SignInRefused):
        await portal.sign_in_link(link.token)


async def test_sign_out_and_expiry_end_the_session(portal: PortalService, clock: FakeClock) -> None:
    await portal.create_user(account_name="acme", email="dev@example.com", password=PASSWORD)
    first = await portal.sign_in_password("dev@example.com", PASSWORD, "a")
    second = await portal.sign_in_password("dev@example.com", PASSWORD, "a")
    await portal.sign_out(first.token)
    assert await portal.identify(first.token) is None
    assert await portal.identify(second.token) is not None
    clock.now += timedelta(hours=13)
    assert await portal.identify(second.token) is None


async def test_api_mints_links_for_full_access_keys_only(
    client: httpx.AsyncClient, services: Services, full_key: str
) -> None:
    auth = {"Authorization": f"Bearer {full_key}"}
    minted = await client.post(
        "/v1/portal-links", json={"capabilities": ["manage", "secrets"]}, headers=auth
    )
    assert minted.status_code == 201
    data = minted.json()["data"]
    assert data["capabilities"] == ["view", "manage", "secrets"]
    assert data["url"].startswith("http://livehook.test/portal/link?token=")
    expires = datetime.fromisoformat(data["expires_at"])
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)

    scoped = (await services.keys.create(account_name="acme", scopes=["webhooks:read"])).plaintext
    refused = await client.post(
        "/v1/portal-links", json={}, headers={"Authorization": f"Bearer {scoped}"}
    )
    assert refused.status_code == 403


@pytest.mark.parametrize(
    "body",
    [{"expires_in": 7 * 86400 + 1}, {"expires_in": 10}, {"capabilities": ["admin"]}],
)
async def test_api_refuses_bad_links(
    client: httpx.AsyncClient, full_key: str, body: dict[str, object]
) -> None:
    answer = await client.post(
        "/v1/portal-links", json=body, headers={"Authorization": f"Bearer {full_key}"}
    )
    assert answer.status_code == 422
    assert answer.json()["success"] is False
