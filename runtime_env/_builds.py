"""The builds of one package that the configured sources offer for a target.

Read from each index's project page (PEP 691 JSON, else PEP 503 HTML) and each
find-links folder or page; only wheels whose tags the target can install count.
Used to find, say, the CPU builds of torch (``2.13.0+cpu``) among a source's files,
and a locked wheel's file (:func:`find_wheel`): the ones `hub mirror` copies, and the
pinned uv's that a node fetches to build its env.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from ._errors import MirrorError
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


@dataclass(frozen=True)
class SourceFile:
    """A wheel a source offers: where it is, and what the source says of it."""

    filename: str
    url: str  # an http(s) or file URL, or a path in a find-links folder
    sha256: str | None = None  # from the index; None: a folder, or a page without hashes
    size: int | None = None
    upload_time: str | None = None  # PEP 700, when the index gives it

    def fits(self, target: Target) -> bool:
        """Whether an installer on ``target`` takes this wheel."""
        return tag_rank(self.filename, target) is not None


def tag_rank(filename: str, target: Target) -> int | None:
    """How good a wheel is for ``target`` (0 best, as installers rank tags); None when the
    target cannot install it."""
    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion):
        return None
    ranks = {tag: i for i, tag in enumerate(target.wheel_tags())}
    found = [ranks[t] for t in tags if t in ranks]
    return min(found) if found else None


def list_builds(package: str, sources: Sources, target: Target, fetch: Fetch = http_get
                ) -> list[Version]:
    """Every version of ``package`` with a wheel ``target`` can install, newest first."""
    return sorted({_version(f.filename) for f in source_files(package, sources, fetch)
                   if f.fits(target)}, reverse=True)


def fits(interpreter: str, abi: str, platform: str, target: Target) -> bool:
    """Whether a wheel tag installs on ``target`` (CPython of its minor version)."""
    return Tag(interpreter, abi, platform) in set(target.wheel_tags())


def source_files(package: str, sources: Sources, fetch: Fetch = http_get) -> list[SourceFile]:
    """The wheels of ``package`` every index and find-links source of ``sources`` offers
    (a source that cannot answer offers nothing)."""
    name = canonicalize_name(package)
    pages = [urljoin(index.rstrip("/") + "/", f"{name}/")
             for index in sources.indexes]
    found: list[SourceFile] = []
    for link in sources.find_links:
        if "://" in link:
            pages.append(link)
        else:
            found += _folder_files(Path(link).expanduser())
    for page in pages:
        try:
            found += _page_files(page, fetch(page))
        except Exception as exc:  # noqa: BLE001 - a source that cannot answer offers nothing
            _LOG.info("could not list %s: %s", page, exc)
    return [f for f in found if _wheel_of(f.filename) == name]


def _version(filename: str) -> Version:
    return parse_wheel_filename(filename)[1]


def _wheel_of(filename: str) -> str | None:
    try:
        return str(parse_wheel_filename(filename)[0])
    except (InvalidWheelFilename, InvalidVersion):
        return None


def _folder_files(folder: Path) -> list[SourceFile]:
    if not folder.is_dir():
        return []
    return [SourceFile(p.name, str(p), size=p.stat().st_size) for p in sorted(folder.iterdir())
            if p.is_file()]


def _page_files(page: str, text: str) -> list[SourceFile]:
    if text.lstrip().startswith("{"):
        return [_json_file(page, item) for item in json.loads(text).get("files", [])
                if isinstance(item, dict) and item.get("filename") and item.get("url")]
    parser = _Links()
    parser.feed(text)
    return [SourceFile(name, urljoin(page, href), digest) for name, href, digest in
            parser.links]


def _json_file(page: str, item: dict[str, Any]) -> SourceFile:
    hashes = item.get("hashes")
    digest = hashes.get("sha256") if isinstance(hashes, dict) else None
    size, uploaded = item.get("size"), item.get("upload-time")
    return SourceFile(str(item["filename"]), urljoin(page, str(item["url"])),
                      str(digest).lower() if digest else None,
                      size if isinstance(size, int) else None,
                      uploaded if isinstance(uploaded, str) else None)


class _Links(HTMLParser):
    """The anchors of a PEP 503 page (or a find-links page): filename, URL, sha256."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href") if tag == "a" else None
        if href:
            parts = urlsplit(href)
            digest = re.match(r"sha256=([0-9a-fA-F]{64})$", parts.fragment)
            self.links.append((unquote(parts.path.rsplit("/", 1)[-1]),
                               href.split("#", 1)[0], digest[1].lower() if digest else None))


@dataclass(frozen=True)
class Needed:
    """One pin an env installs: the versions' files the lock accepts, by sha256."""

    name: str
    version: str
    hashes: frozenset[str]
    target: Target

    def describe(self) -> str:
        return f"{self.name} {self.version}"


def find_wheel(needed: Needed, sources: Sources, fetch: Fetch = http_get) -> SourceFile:
    """The sources' file for ``needed`` (its sha256 one of the lock's), best for its target;
    MirrorError naming the pin and the sources when none is."""
    if not needed.hashes:
        raise MirrorError(f"the lock pins {needed.describe()} without a sha256, so no file "
                          "can be checked against it; lock from an index that serves hashes")
    found = [f for f in source_files(needed.name, sources, fetch)
             if _version_of(f.filename) == _pin_version(needed.version) and f.fits(needed.target)]
    known = [_with_hash(f) for f in found]
    usable = [f for f in known if f.sha256 is None or f.sha256 in needed.hashes]
    if not usable:
        why = (f"{len(found)} file(s) of that version fit it, none with the lock's sha256"
               if found else "no wheel of that version fits it")
        raise MirrorError(f"cannot mirror {needed.describe()} for {needed.target.describe()}: "
                          f"{why} in the sources ({sources.describe()}) — add the index or "
                          "folder the lock was made from (PIP_INDEX_URL, HUB_FIND_LINKS, ...)")
    return min(usable, key=lambda f: (tag_rank(f.filename, needed.target), f.sha256 is None))


def _with_hash(file: SourceFile) -> SourceFile:
    """A folder's file gets its sha256 (the index gave none), so a same-named wheel with
    other bytes is never picked."""
    path = local_path(file.url)
    if file.sha256 is not None or path is None:
        return file
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return SourceFile(file.filename, file.url, digest.hexdigest(), file.size, file.upload_time)


def local_path(url: str) -> Path | None:
    """The file a find-links URL or path names on this machine, or None for http(s)."""
    if url.startswith(("http://", "https://")):
        return None
    return Path(unquote(urlsplit(url).path)) if url.startswith("file://") else Path(url)


def _pin_version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _version_of(filename: str) -> Version | None:
    try:
        return parse_wheel_filename(filename)[1]
    except (InvalidWheelFilename, InvalidVersion):
        return None
