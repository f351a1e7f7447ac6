"""Browser fixtures: a real Chromium per test, through Playwright's async API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, async_playwright

from tests.support.browser import CHROMIUM, browser_required, ensure_chromium


@pytest.fixture(scope="session")
def chromium_path() -> str:
    problem = ensure_chromium()
    if problem is not None:
        if browser_required():
            pytest.fail(f"Chromium is required (LIVEHOOK_TEST_REQUIRE_BROWSER) but: {problem}")
        pytest.skip(f"no Chromium: {problem}")
    return str(CHROMIUM)


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path)
        try:
            yield launched
        finally:
            await launched.close()
