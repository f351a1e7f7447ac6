"""Browser fixtures: one real Chromium per xdist worker (the browser tests share one worker: their
modules mark themselves `xdist_group("browser")`), a fresh context per test.

Launching Chromium costs seconds on a busy machine; a context is Chromium's own isolation
(cookies, storage, permissions, cache), so each test still starts from a clean browser state.
The browser tests (``pytestmark`` in each module), their browser and their receiver share one
event loop, the session's: Playwright's objects belong to the loop that made them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from tests.support.browser import CHROMIUM, browser_required, ensure_chromium
from tests.support.receivers import Receiver, running_receiver


@pytest.fixture(scope="session")
def chromium_path() -> str:
    problem = ensure_chromium()
    if problem is not None:
        if browser_required():
            pytest.fail(f"Chromium is required (LIVEHOOK_TEST_REQUIRE_BROWSER) but: {problem}")
        pytest.skip(f"no Chromium: {problem}")
    return str(CHROMIUM)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium(chromium_path: str) -> AsyncIterator[Browser]:
    """The worker's one Chromium; tests take ``browser``."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium_path)
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser(chromium: Browser) -> AsyncIterator[Browser]:
    """The shared Chromium; every context or page a test opened is closed after it, so no
    cookie, storage or permission reaches the next test."""
    before = set(chromium.contexts)
    yield chromium
    for context in chromium.contexts:
        if context not in before:
            await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    """As tests/conftest.py's, on the browser tests' loop."""
    async with running_receiver() as running:
        yield running
