"""The developer portal in real Chromium against a real `livehook serve` and a real receiver."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

from livehook.receiver import verify
from tests.support.portal import PASSWORD
from tests.support.processes import LIVEHOOK, Server, env_for, run_cli, serving
from tests.support.receivers import Receiver

# On the loop of the shared Chromium (see conftest.py), and all on one xdist worker
# (--dist loadgroup): one Chromium and one serve per module for the run, not one per worker.
pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.xdist_group("browser")]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "portal"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
PHONE = {"width": 375, "height": 740}
# Generous waits: the machine is shared (two cores, other suites running); none is a timing
# assertion, each only bounds how long a real delivery may take to show up.
DELIVERY_WAIT = 30.0
expect.set_options(timeout=15_000)


class Portal:
    """A `livehook serve` with two accounts: acme (a user and a key) and globex (a user)."""

    def __init__(self, server: Server, acme_key: str) -> None:
        self.server = server
        self.base = server.base
        self.acme_key = acme_key


def _create_user(env: dict[str, str], account: str, email: str) -> None:
    done = subprocess.run(
        [*LIVEHOOK, "users", "create", "--account", account, "--email", email, "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    """One server for the module: each test works in objects of its own (its webhook, its
    receiver, its browser context), and none counts what another may have made."""
    home = tmp_path_factory.mktemp("portal") / "home"
    env = env_for(home, LIVEHOOK_ALLOW_LOCAL_URLS="1")
    created = run_cli("keys", "create", "--account", "acme", "--name", "ops", "--json", env=env)
    assert created.returncode == 0, created.stderr
    _create_user(env, "acme", "dev@acme.example")
    _create_user(env, "globex", "eve@globex.example")
    with serving(env) as server:
        yield Portal(server, json.loads(created.stdout)["key"])


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    made = await browser.new_context()
    await made.grant_permissions(["clipboard-read", "clipboard-write"])
    try:
        yield made
    finally:
        await made.close()


async def _snap(page: Page, name: str) -> None:
    """A screenshot kept as a test artifact, and axe-core's verdict on the page."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    # Evaluated over the DevTools protocol: the portal's CSP rightly refuses inline scripts.
    await page.evaluate(AXE.read_text())
    result = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    assert result == [], f"{name}: {result}"


async def _reload_until_visible(page: Page, target: Locator) -> None:
    """The delivery page does not refresh itself: reload until the worker's record shows."""
    deadline = asyncio.get_running_loop().time() + DELIVERY_WAIT
    while not await target.is_visible():
        assert asyncio.get_running_loop().time() < deadline, "not shown in time"
        await asyncio.sleep(0.25)
        await page.reload()


async def _sign_in(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/portal/keys")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="API keys")).to_be_visible()


async def test_a_developer_wires_a_webhook_and_watches_it_work(
    portal: Portal, receiver: Receiver, context: BrowserContext
) -> None:
    page = await context.new_page()
    await page.goto(f"{portal.base}/portal/keys")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await _snap(page, "01-sign-in")
    await _sign_in(page, portal.base, "dev@acme.example")

    # A key, shown once, copied with the button.
    await page.get_by_label("Name").fill("production")
    await page.get_by_role("button", name="Create key").click()
    api_key = await page.get_by_label("API key").input_value()
    assert api_key.startswith("lh_")
    await page.get_by_role("button", name="Copy").first.click()
    assert await page.evaluate("navigator.clipboard.readText()") == api_key
    await _snap(page, "02-key-created")
    await page.get_by_role("link", name="I have stored them").click()

    # A webhook at the receiver for one model; its secret shown once.
    await page.get_by_role("link", name="Add webhook").click()
    await _snap(page, "03-add-webhook")
    await page.get_by_label("Endpoint URL").fill(receiver.url("/ok/portal"))
    await page.get_by_label("Model").select_option("mixed-30-v2")
    await page.get_by_role("button", name="Add webhook").click()
    await expect(page.get_by_text("it is shown only once")).to_be_visible()
    secret = await page.get_by_label("Signing secret").input_value()
    assert secret.startswith("whsec_")
    await page.get_by_role("link", name="open the webhook").click()
    webhook_url = page.url
    await expect(page.get_by_text("active").first).to_be_visible()
    await _snap(page, "04-webhook")

    # A test event: in the log, delivered, verified by the receiver library.
    await page.get_by_role("button", name="Send test event").click()
    await expect(page.get_by_text("Test event queued")).to_be_visible()
    logged = page.locator("#log").get_by_text("succeeded")
    await expect(logged).to_be_visible(timeout=DELIVERY_WAIT * 1000)
    await _snap(page, "05-delivery-log")
    await receiver.wait_for(1, within=DELIVERY_WAIT)
    first = receiver.received[0]
    assert verify(first.body, first.headers, secret)["test"] is True

    # Its attempt, and a redelivery of the same event.
    await page.get_by_role("link", name="UTC").first.click()
    await expect(page.get_by_role("heading", name="Attempt 1: 200")).to_be_visible()
    await page.get_by_text("Raw (the exact bytes").click()
    assert (await page.locator("#raw-body").inner_text()).encode() == first.body
    await _snap(page, "06-delivery")
    async with page.expect_navigation():  # the form posts, then comes back to this page
        await page.get_by_role("button", name="Redeliver").click()
    await receiver.wait_for(2, within=DELIVERY_WAIT)
    assert receiver.received[1].event_id == first.event_id
    await _reload_until_visible(page, page.get_by_role("heading", name="Attempt 2: 200"))

    # A test verification of the key: real events at the receiver, counted by the funnel.
    await page.goto(webhook_url)
    await page.get_by_role("link", name="production", exact=True).click()
    await page.get_by_label("Drive the session to").select_option("verification.completed")
    await page.get_by_label("Model", exact=True).select_option("mixed-30-v2")
    await page.get_by_role("button", name="Trigger test verification").click()
    await expect(page.get_by_text("verification.completed").first).to_be_visible()
    await _snap(page, "07-session")
    await receiver.wait_for(8, within=DELIVERY_WAIT)
    completed = [
        r
        for r in receiver.received
        if r.header("X-Webhook-Event") == "verification.completed" and b'"test"' not in r.body
    ]
    assert completed and verify(completed[0].body, completed[0].headers, secret)
    await page.get_by_role("link", name="Funnel").click()
    await expect(page.locator("#initialized")).to_have_text("1")
    await _snap(page, "08-funnel")

    # The log filtered by event and model shows the real delivery and its exact body.
    await page.goto(f"{webhook_url}/deliveries?event=verification.completed&model=mixed-30-v2")
    rows = page.locator("#log tbody tr")
    await expect(rows).to_have_count(2)  # the session's and the earlier test event
    real = rows.filter(has_not=page.locator(".badge", has_text="test"))
    await expect(real.get_by_text("succeeded")).to_be_visible(timeout=DELIVERY_WAIT * 1000)
    await real.get_by_role("link").click()
    assert (await page.locator("#raw-body").text_content() or "").encode() == completed[0].body

    for path in ("/portal/events", "/portal/sessions"):
        await page.goto(portal.base + path)
        await _snap(page, path.rsplit("/", 1)[1])

    # The secrets are nowhere afterwards: no page, cookie or address holds them.
    for path in (webhook_url, f"{webhook_url}/deliveries", f"{webhook_url}/edit"):
        await page.goto(path)
        content = await page.content()
        assert secret not in content and api_key not in content
    cookies = json.dumps(await context.cookies())
    assert secret not in cookies and api_key not in cookies
    assert secret not in page.url


async def test_phone_width_is_readable(portal: Portal, browser: Browser) -> None:
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    await _sign_in(page, portal.base, "dev@acme.example")
    # Nothing wider than the screen: no sideways scrolling of the page itself.
    wide = await page.evaluate(
        """() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
            .map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right)"""
    )
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], wide
    await _snap(page, "09-keys-phone")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
    await context.close()


async def test_a_view_link_cannot_change_anything(
    portal: Portal, receiver: Receiver, browser: Browser
) -> None:
    auth = {"Authorization": f"Bearer {portal.acme_key}"}
    async with httpx.AsyncClient(base_url=portal.base, headers=auth) as api:
        hook = await api.post("/v1/webhooks", json={"url": receiver.url("/ok/view")})
        link = await api.post("/v1/portal-links", json={"capabilities": ["view"]})
    webhook_id = hook.json()["data"]["id"]
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(link.json()["data"]["url"])
    assert page.url == f"{portal.base}/portal/keys"  # the token left the address bar
    await expect(page.get_by_text("view only")).to_be_visible()
    await expect(page.get_by_role("button", name="Create key")).to_have_count(0)
    await page.goto(f"{portal.base}/portal/webhooks/{webhook_id}")
    for name in ("Send test event", "Disable", "Rotate secret"):
        await expect(page.get_by_role("button", name=name)).to_have_count(0)

    # Even a hand-made request with a valid CSRF token is refused.
    token = await page.locator("input[name=csrf_token]").first.get_attribute("value")
    for action in ("test", "delete", "rotate"):
        status = await page.evaluate(
            """async ([url, token]) => (await fetch(url, {method: "POST",
                headers: {"X-CSRF-Token": token}})).status""",
            [f"/portal/webhooks/{webhook_id}/{action}", token],
        )
        assert status == 403, action
    async with httpx.AsyncClient(base_url=portal.base, headers=auth) as api:
        still = await api.get(f"/v1/webhooks/{webhook_id}")
    assert still.json()["data"]["status"] == "active"
    assert receiver.received == []
    await context.close()


async def test_another_accounts_objects_are_unreachable(
    portal: Portal, receiver: Receiver, browser: Browser
) -> None:
    auth = {"Authorization": f"Bearer {portal.acme_key}"}
    async with httpx.AsyncClient(base_url=portal.base, headers=auth) as api:
        hook = (await api.post("/v1/webhooks", json={"url": receiver.url("/ok/acme")})).json()
        me = (await api.get("/v1/me")).json()
    webhook_id = hook["data"]["id"]
    context = await browser.new_context()
    page = await context.new_page()
    await _sign_in(page, portal.base, "eve@globex.example")
    await expect(page.get_by_text("No API keys yet.")).to_be_visible()
    for path in (
        f"/portal/webhooks/{webhook_id}",
        f"/portal/webhooks/{webhook_id}/deliveries",
        f"/portal/keys/{me['data']['key_id']}",
    ):
        answer = await page.goto(portal.base + path)
        assert answer is not None and answer.status == 404, path
        assert receiver.url("/ok/acme") not in await page.content()
    await context.close()
