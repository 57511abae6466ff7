"""Fixtures of the browser tests: a headless Chromium (installed once if missing) and a
real `hub serve` with the first-party operators and the hostile project published."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright
from support.browser import FLAGS, ChromiumUnavailable, Tab, ensure_chromium, open_tab
from support.hub_server import HubServer
from support.pages import published_hub
from support.wheelhouse import FIRST_PARTY, Wheelhouse


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium driven by Playwright, for the session."""
    try:
        chromium, _ = ensure_chromium()
    except ChromiumUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), headless=True,
                                             args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse
              ) -> Iterator[HubServer]:
    """`hub serve` with image-decode, image-embed, text-embed and opshub-evil (1.0 yanked)."""
    wheels = [wheelhouse[name] for name in FIRST_PARTY]
    with published_hub(tmp_path_factory.mktemp("published"), first_party=wheels) as server:
        yield server


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    """A laptop-sized page (1280x800) with JavaScript on."""
    opened = open_tab(browser, viewport={"width": 1280, "height": 800})
    yield opened
    opened.page.context.close()
