"""`/docs` and `/redoc` render every operation with no network beyond livehook itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, Route

from tests.support.processes import Server, env_for, serving

# On the loop of the shared Chromium (see conftest.py), and all on one xdist worker
# (--dist loadgroup): one Chromium and one serve per module for the run, not one per worker.
pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.xdist_group("browser")]
# ReDoc's "API docs by Redocly" footer always asks for this logo and hides it when it cannot
# load: the one request the vendored page makes outside livehook, and nothing depends on it.
REDOCLY_ATTRIBUTION_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home: Path = tmp_path_factory.mktemp("docs-home")
    with serving(env_for(home)) as running:
        yield running


def operation_count(server: Server) -> int:
    spec = httpx.get(f"{server.base}/openapi.json").json()
    methods = {"get", "post", "put", "patch", "delete"}
    return sum(1 for item in spec["paths"].values() for method in item if method in methods)


async def offline_page(browser: Browser, server: Server) -> tuple[Page, list[str]]:
    """A page that can reach only ``server``: anything else is refused and remembered."""
    page = await browser.new_page()
    origin = urlsplit(server.base).netloc
    refused: list[str] = []

    async def only_livehook(route: Route) -> None:
        if urlsplit(route.request.url).netloc == origin:
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort("internetdisconnected")

    await page.route("**/*", only_livehook)
    return page, refused


async def test_swagger_ui_renders_every_operation_offline(browser: Browser, server: Server) -> None:
    page, refused = await offline_page(browser, server)
    await page.goto(f"{server.base}/docs")
    await page.locator(".opblock").first.wait_for(timeout=20_000)
    assert await page.locator(".opblock").count() == operation_count(server)
    assert await page.locator(".opblock-summary-path", has_text="/v1/webhooks").count() > 0
    assert "livehook" in await page.locator(".info .title").inner_text()
    assert refused == []


async def test_redoc_renders_every_operation_offline(browser: Browser, server: Server) -> None:
    page, refused = await offline_page(browser, server)
    await page.goto(f"{server.base}/redoc")
    operations = page.locator("[data-section-id^='operation/']")
    await operations.first.wait_for(timeout=20_000)
    assert await operations.count() == operation_count(server)
    assert "livehook" in await page.locator("h1").first.inner_text()
    assert set(refused) <= {REDOCLY_ATTRIBUTION_LOGO}
