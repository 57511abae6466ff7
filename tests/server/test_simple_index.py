"""The simple index: PEP 503/691 negotiation, 592 yanks, 658/714 metadata, 700 fields, paths."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import pytest
from support.app import InProcessHub
from support.crafted import wheel_files, write_wheel

from hub.server._errors import RequestRejected
from hub.server._simple import HTML_V1, JSON_V1, choose_media_type


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessHub]:
    """A hub with opshub-demo 1.0 (requires-python with '<') and a yanked 2.0, shared by
    the module's tests (they only read)."""
    folder = tmp_path_factory.mktemp("simple")
    with InProcessHub(folder / "storage") as hub:
        for version in ("1.0", "2.0"):
            wheel = write_wheel(folder, wheel_files(version=version,
                                                    **{"Requires-Python": ">=3.8,<4"}))
            assert hub.upload(wheel).ok
        yank = hub.session.post(hub.url + "/api/projects/opshub-demo/2.0/yank", timeout=10,
                                json={"reason": 'bad "quotes" <b>'}, auth=("__token__", hub.token))
        assert yank.ok, yank.text
        yield hub


@pytest.mark.parametrize("accept, fmt, expected", [
    (None, None, "text/html"),
    ("*/*", None, "text/html"),
    (JSON_V1, None, JSON_V1),
    ("application/vnd.pypi.simple.latest+json", None, JSON_V1),
    (HTML_V1, None, HTML_V1),
    (f"text/html;q=0.5, {JSON_V1}", None, JSON_V1),
    (f"{JSON_V1};q=0.2, text/html;q=0.9", None, "text/html"),
    (f"{JSON_V1};q=0, text/html", None, "text/html"),
    ("text/html", "json", JSON_V1),
    (JSON_V1, HTML_V1, HTML_V1),
])
def test_content_negotiation(accept: str | None, fmt: str | None, expected: str) -> None:
    assert choose_media_type(accept, fmt) == expected


@pytest.mark.parametrize("accept, fmt", [("application/xml", None), (None, "xml")])
def test_unservable_formats_are_406(accept: str | None, fmt: str | None) -> None:
    with pytest.raises(RequestRejected) as caught:
        choose_media_type(accept, fmt)
    assert caught.value.status == 406 and JSON_V1 in str(caught.value)


def test_project_page_json(index: InProcessHub) -> None:
    response = index.session.get(index.url + "/simple/opshub-demo/",
                                 headers={"Accept": JSON_V1}, timeout=10)
    assert response.headers["content-type"] == JSON_V1 and response.headers["vary"] == "Accept"
    page = response.json()
    assert page["meta"] == {"api-version": "1.1"} and page["name"] == "opshub-demo"
    assert page["versions"] == ["1.0", "2.0"]
    one, two = page["files"]
    assert (one["yanked"], two["yanked"]) == (False, 'bad "quotes" <b>')
    assert one["requires-python"] == ">=3.8,<4" and one["size"] > 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", one["upload-time"])
    assert one["core-metadata"] == one["dist-info-metadata"]
    wheel = index.session.get(response.url + one["url"], timeout=10)
    assert hashlib.sha256(wheel.content).hexdigest() == one["hashes"]["sha256"]
    assert len(wheel.content) == one["size"]
    metadata = index.session.get(response.url + one["url"] + ".metadata", timeout=10).content
    assert hashlib.sha256(metadata).hexdigest() == one["core-metadata"]["sha256"]
    assert metadata.startswith(b"Metadata-Version: 2.1\nName: opshub-demo\nVersion: 1.0\n")


def test_project_page_html_escapes_attributes(index: InProcessHub) -> None:
    response = index.session.get(index.url + "/simple/opshub-demo/", timeout=10)
    assert response.headers["content-type"].startswith("text/html")
    text = response.text
    assert '<meta name="pypi:repository-version" content="1.1">' in text
    assert 'data-requires-python="&gt;=3.8,&lt;4"' in text
    assert 'data-yanked="bad &quot;quotes&quot; &lt;b&gt;"' in text
    anchors = re.findall(r'<a href="([^"#]+)#sha256=([0-9a-f]{64})" [^>]*'
                         r'data-core-metadata="sha256=([0-9a-f]{64})" '
                         r'data-dist-info-metadata="sha256=\3">', text)
    assert len(anchors) == 2
    href, digest, _ = anchors[0]
    wheel = index.session.get(response.url + href, timeout=10).content
    assert hashlib.sha256(wheel).hexdigest() == digest
    v1 = index.session.get(index.url + "/simple/opshub-demo/", headers={"Accept": HTML_V1},
                           timeout=10)
    assert v1.headers["content-type"].startswith(HTML_V1) and v1.text == text


def test_root_index_both_formats(index: InProcessHub) -> None:
    as_json = index.session.get(index.url + "/simple/?format=json", timeout=10).json()
    assert as_json == {"meta": {"api-version": "1.1"}, "projects": [{"name": "opshub-demo"}]}
    as_html = index.session.get(index.url + "/simple/", timeout=10).text
    assert '<a href="opshub-demo/">opshub-demo</a>' in as_html


@pytest.mark.parametrize("path, location", [
    ("/simple/Opshub_Demo/", "/simple/opshub-demo/"),
    ("/simple/opshub.demo/?format=json", "/simple/opshub-demo/?format=json"),
    ("/simple/opshub-demo", "/simple/opshub-demo/"),
    ("/simple/Unknown_Thing/", "/simple/unknown-thing/"),
    ("/simple", "/simple/"),
])
def test_non_normalized_names_redirect_to_the_same_index(index: InProcessHub, path, location):
    response = index.session.get(index.url + path, allow_redirects=False, timeout=10)
    assert (response.status_code, response.headers["location"]) == (301, location)


@pytest.mark.parametrize("path", [
    "/simple/unknown-thing/",
    "/files/opshub-demo/nope-1.0-py3-none-any.whl",
    "/files/opshub-demo/nope-1.0-py3-none-any.whl.metadata",
    "/files/other/opshub_demo-1.0-py3-none-any.whl",
    "/files/opshub-demo/..%2F..%2Fhub.sqlite3",
    "/files/..%2Fincoming/x",
    "/files/opshub-demo/%2E%2E",
])
def test_unknown_names_and_paths_are_404(index: InProcessHub, path: str) -> None:
    response = index.session.get(index.url + path, allow_redirects=False, timeout=10)
    assert response.status_code == 404, (path, response.text)
