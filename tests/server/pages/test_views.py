"""The pages through the app (an in-process hub, no socket): headers, names in URLs, 404s, escaping, search
matching the JSON API, and the 140 MB README that the home and search pages never read."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from support.app import InProcessHub
from support.crafted import wheel_files, write_wheel
from support.pages import EVIL, assert_inert, hostile_wheel

from hub.server._headers import CONTENT_SECURITY_POLICY

PAGES = ["/", "/search?q=demo", "/search?q=", "/project/opshub-demo/",
         "/project/opshub-demo/1.0/", "/project/nope/", "/project/opshub-demo/9.9/"]


def _publish(server: InProcessHub, folder: Path) -> InProcessHub:
    """opshub-demo 1.0 (yanked) and 2.0, opshub-other 1.0, and the hostile opshub-evil 1.0."""
    wheels = [write_wheel(folder, wheel_files("opshub-demo", "1.0")),
              write_wheel(folder, wheel_files("opshub-demo", "2.0", Keywords="vision,Embedding",
                                              **{"Requires-Dist": "numpy>=1.20"})),
              write_wheel(folder, wheel_files("opshub-other", "1.0",
                                              Summary="Another embedding operator.")),
              hostile_wheel(folder, "1.0")]
    for wheel in wheels:
        assert server.upload(wheel).ok
    yanked = server.session.post(f"{server.url}/api/projects/opshub-demo/1.0/yank", timeout=10,
                                 auth=("__token__", server.token), json={"reason": "bad <b>"})
    assert yanked.ok
    return server


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHub]:
    """The published hub, shared by the tests that only read."""
    folder = tmp_path_factory.mktemp("pages")
    with InProcessHub(folder / "storage") as server:
        yield _publish(server, folder)


@pytest.fixture
def own_hub(hub_app: InProcessHub, tmp_path: Path) -> InProcessHub:
    """The same projects on a hub of the test's own, to change behind the server's back."""
    return _publish(hub_app, tmp_path)


def _get(server: InProcessHub, path: str, **kwargs: object) -> requests.Response:
    return server.session.get(server.url + path, timeout=30, **kwargs)  # type: ignore[arg-type]


def _cards(html: str) -> list[str]:
    return re.findall(r'<li class="card[^"]*">\s*<h2><a href="/project/([^/]+)/"', html)


@pytest.mark.parametrize("path", [*PAGES, "/simple/", "/simple/opshub-demo/"])
def test_every_html_page_sends_the_security_headers(hub: InProcessHub, path: str) -> None:
    headers = _get(hub, path).headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY and "script" not in CONTENT_SECURITY_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY" and headers["Referrer-Policy"] == "same-origin"


def test_other_responses_get_nosniff_only(hub: InProcessHub) -> None:
    for path in ("/api/search?q=", "/static/hub.css", "/api/nothing"):
        headers = _get(hub, path).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" not in headers


@pytest.mark.parametrize("path", PAGES)
def test_pages_carry_no_script_of_their_own(hub: InProcessHub, path: str) -> None:
    assert_inert(_get(hub, path).text)


@pytest.mark.parametrize("query", ["", "demo", "embedding", "OPSHUB demo", "evil-op", "nothing"])
def test_search_page_lists_what_the_json_api_finds(hub: InProcessHub, query: str) -> None:
    api = _get(hub, "/api/search", params={"q": query}).json()
    page = _get(hub, "/search", params={"q": query})
    assert page.status_code == 200
    assert _cards(page.text) == [r["name"] for r in api["results"]]
    assert f'value="{query}"' in page.text  # the box keeps the query


def test_home_page_shows_every_project_as_a_card(hub: InProcessHub) -> None:
    html = _get(hub, "/").text
    assert _cards(html) == ["opshub-demo", "opshub-evil", "opshub-other"]
    demo = html[html.index('href="/project/opshub-demo/"'):html.index('href="/project/opshub-evil/"')]
    assert '<span class="version">2.0</span>' in demo and "<li>Embedding</li>" in demo
    assert "<code>opshub-demo</code> <span class=\"kind\">function</span>" in demo


def test_empty_hub(hub_app: InProcessHub) -> None:
    assert "No operators yet" in _get(hub_app, "/").text
    assert "0 results" in _get(hub_app, "/search?q=x").text


@pytest.mark.parametrize("path, location", [
    ("/project/Opshub_Demo/", "/project/opshub-demo/"),
    ("/project/opshub.demo", "/project/opshub-demo/"),
    ("/project/opshub-demo", "/project/opshub-demo/"),
    ("/project/OPSHUB-DEMO/01.0/", "/project/opshub-demo/1.0/"),
    ("/project/opshub-demo/2.0", "/project/opshub-demo/2.0/"),
    ("/project/Opshub_Demo/?tab=files", "/project/opshub-demo/?tab=files"),
])
def test_names_in_urls_are_normalized_with_a_301(hub: InProcessHub, path: str, location: str) -> None:
    response = _get(hub, path, allow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (301, location)


@pytest.mark.parametrize("path, message, link", [
    ("/project/opshub-dem/", "project &#39;opshub-dem&#39; is not on this hub", "opshub-demo"),
    ("/project/evil-op/", "project &#39;evil-op&#39; is not on this hub", EVIL),  # an operator
    ("/project/opshub-demo/9.9/", "opshub-demo 9.9 is not on this hub", "opshub-demo"),
    ("/project/opshub-demo/not-a-version!/", "is not a version (PEP 440)", None),
    ("/static/nope.js", "no static file", None),
])
def test_unknown_names_get_an_html_404_with_suggestions(
        hub: InProcessHub, path: str, message: str, link: str | None) -> None:
    response = _get(hub, path)
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
    assert message in response.text
    if link:
        assert f'href="/project/{link}/"' in response.text


def test_project_page_shows_operators_versions_files_requirements_install(hub: InProcessHub) -> None:
    html = _get(hub, "/project/opshub-demo/").text
    assert "<h1>opshub-demo <span class=\"version\">2.0</span></h1>" in html
    assert "<dt>resources</dt><dd>0.5 CPU</dd>" in html and "<p>The README card.</p>" not in html
    assert '<pre class="readme-text">The README card.</pre>' in html  # no content type: text
    assert re.search(r'<li data-yanked>\s*<a href="/project/opshub-demo/1.0/">1.0</a>.*?'
                     r'<span class="badge warn">yanked</span> <span class="reason">bad &lt;b&gt;'
                     r'</span>', html, re.DOTALL)
    assert f"HUB_URL={hub.url} hub install opshub-demo</code>" in html
    assert f"pip install --index-url {hub.url}/simple/ opshub-demo</code>" in html
    assert "<code>numpy&gt;=1.20</code>" in html
    [record] = [r for r in _get(hub, "/api/projects/opshub-demo").json()["versions"][0]["files"]]
    assert f"<code>{record['sha256']}</code>" in html
    assert f'<a href="/files/opshub-demo/{record["filename"]}">' in html


def test_a_yanked_version_page_says_so_and_pins_the_install(hub: InProcessHub) -> None:
    html = _get(hub, "/project/opshub-demo/1.0/").text
    assert 'id="yanked">Version 1.0 is yanked: bad &lt;b&gt;.' in html
    assert "the newest is <a href=\"/project/opshub-demo/\">2.0</a>" in html
    assert "hub install opshub-demo==1.0</code>" in html


@pytest.mark.parametrize("path", ["/", f"/search?q={EVIL}", f"/project/{EVIL}/"])
def test_every_field_is_escaped(hub: InProcessHub, path: str) -> None:
    """Summary, keywords, README, operator description, inputs and outputs all hold script."""
    html = _get(hub, path).text
    assert_inert(html)
    assert "&lt;script&gt;window.__pwned=&#39;keyword&#39;&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;window.__pwned = &#39;summary&#39;&#34;&gt;" in html


@pytest.mark.slow  # writes 280 MB into SQLite
def test_home_and_search_never_read_a_140_mb_readme(own_hub: InProcessHub) -> None:
    """The attack of issue 11: a 140 MB README stored twice (README and METADATA) made the
    home page take 1 s and five at once 16 s. Now the pages never read it: its last byte is
    not UTF-8, so any page that loaded it into Python would fail with a 500."""
    size = 140 * 1000 * 1000
    with sqlite3.connect(own_hub.storage / "hub.sqlite3") as db:
        db.execute("UPDATE files SET readme = printf('%.*c', ?, 'x') || CAST(x'ff' AS TEXT) "
                   "WHERE project = ? AND version = '2.0'", (size, "opshub-demo"))
        db.execute("UPDATE files SET metadata = CAST(readme AS BLOB) WHERE project = ? AND "
                   "version = '2.0'", ("opshub-demo",))
    with ThreadPoolExecutor(5) as pool:
        pages = list(pool.map(lambda path: _get(own_hub, path), ["/"] * 5 + ["/search?q=demo"]))
    assert all(page.status_code == 200 and len(page.content) < 100_000 for page in pages)
    assert _cards(pages[0].text) == ["opshub-demo", "opshub-evil", "opshub-other"]
    assert _get(own_hub, "/api/search?q=demo").json()["results"][0]["version"] == "2.0"
    project = _get(own_hub, "/project/opshub-demo/")
    assert project.status_code == 200 and len(project.content) < 100_000
    assert "The README is 140.0 MB, too large to show here" in project.text


def test_static_files_are_cached_by_digest(hub: InProcessHub) -> None:
    html = _get(hub, "/").text
    [css] = re.findall(r'href="(/static/hub\.css\?v=[0-9a-f]{12})"', html)
    response = _get(hub, css)
    assert response.headers["content-type"] == "text/css; charset=utf-8"
    assert "immutable" in response.headers["cache-control"] and ".cards" in response.text
