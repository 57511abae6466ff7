"""The builds of one package that the configured sources offer for a target.

Read from each index's project page (PEP 691 JSON, else PEP 503 HTML) and each
find-links folder or page; only wheels whose tags the target can install count.
Used to find, say, the CPU builds of torch (``2.13.0+cpu``) among a source's files.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from ._sources import Sources
from ._target import Target

Fetch = Callable[[str], str]  # URL -> page text (JSON or HTML)
_JSON = "application/vnd.pypi.simple.v1+json"
_ACCEPT = f"{_JSON}, text/html;q=0.1"
_LOG = logging.getLogger("opshub.runtime_env")


def http_get(url: str) -> str:
    """A page of an index or find-links URL (``file://`` folders read from disk)."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = Path(unquote(parts.path))
        return (path / "index.html").read_text() if path.is_dir() else path.read_text()
    import requests

    response = requests.get(url, headers={"Accept": _ACCEPT}, timeout=30)
    response.raise_for_status()
    return response.text


def list_builds(package: str, sources: Sources, target: Target, fetch: Fetch = http_get
                ) -> list[Version]:
    """Every version of ``package`` with a wheel ``target`` can install, newest first."""
    name = canonicalize_name(package)
    found: set[Version] = set()
    for filename in _filenames(name, sources, fetch):
        try:
            wheel_name, version, _, tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            continue
        if wheel_name == name and any(fits(tag.interpreter, tag.abi, tag.platform, target)
                                      for tag in tags):
            found.add(version)
    return sorted(found, reverse=True)


def fits(interpreter: str, abi: str, platform: str, target: Target) -> bool:
    """Whether a wheel tag installs on ``target`` (CPython of its minor version)."""
    major, minor = target.minor.split(".")
    cp = f"cp{major}{minor}"
    if interpreter not in (cp, f"py{major}", f"py{major}{minor}"):
        return False
    if abi not in (cp, "abi3", "none"):
        return False
    return platform == "any" or _platform_fits(platform, target)


def _platform_fits(platform: str, target: Target) -> bool:
    if target.platform != "linux":
        prefix = {"darwin": "macosx", "win32": "win"}.get(target.platform, target.platform)
        return platform.startswith(prefix) and _arch(platform, target)
    glibc = re.match(r"manylinux_(\d+)_(\d+)_", platform)
    if glibc and (int(glibc.group(1)), int(glibc.group(2))) > (2, 28):
        return False  # uv locks for manylinux_2_28 (see Target.uv_platform)
    return platform.startswith(("manylinux", "linux_")) and _arch(platform, target)


def _arch(platform: str, target: Target) -> bool:
    machine = {"AMD64": "amd64", "arm64": "arm64"}.get(target.machine, target.machine)
    return platform.endswith(machine) or (machine == "arm64" and platform.endswith("universal2"))


def _filenames(name: str, sources: Sources, fetch: Fetch) -> Iterator[str]:
    pages = [urljoin(index.rstrip("/") + "/", f"{name}/")
             for index in (*sources.extra_index_urls, sources.index_url)]
    for link in sources.find_links:
        if "://" not in link:
            folder = Path(link).expanduser()
            yield from (p.name for p in folder.iterdir()) if folder.is_dir() else ()
        else:
            pages.append(link)
    for page in pages:
        try:
            yield from _page_filenames(fetch(page))
        except Exception as exc:  # noqa: BLE001 - a source that cannot answer offers nothing
            _LOG.info("could not list %s: %s", page, exc)


def _page_filenames(text: str) -> Iterator[str]:
    if text.lstrip().startswith("{"):
        import json

        for item in json.loads(text).get("files", []):
            yield str(item.get("filename", ""))
        return
    parser = _Links()
    parser.feed(text)
    yield from parser.filenames


class _Links(HTMLParser):
    """The file names of a PEP 503 page's (or a find-links page's) anchors."""

    def __init__(self) -> None:
        super().__init__()
        self.filenames: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href") if tag == "a" else None
        if href:
            self.filenames.append(unquote(urlsplit(href).path.rsplit("/", 1)[-1]))
