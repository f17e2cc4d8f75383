"""Headless Chromium for the browser tests: Debian's ``chromium`` driven by the ``playwright``
package (no browser download), one browser for the test session.

The pytest-playwright plugins do not fit our settings (pytest-asyncio with a loop per function,
warnings as errors), so the fixture is our own: the browser lives on the session's loop, and a
browser test is marked ``@pytest.mark.asyncio(loop_scope="session")``.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

#: put in every page before its scripts: the time (epoch ms) and name of each server-sent
#: event htmx swapped in, so a test can tell when the page showed something
RECORD_SSE = """
window.__sse = [];
document.addEventListener('htmx:sseMessage', (e) => {
  window.__sse.push({type: e.detail.type, at: Date.now()});
}, true);
"""


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed (scripts/install-deps.sh installs it)")
    async with async_playwright() as playwright:
        found = await playwright.chromium.launch(executable_path=chromium,
                                                 args=["--disable-gpu"])
        try:
            yield found
        finally:
            await found.close()
