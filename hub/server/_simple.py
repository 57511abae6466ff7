"""The simple repository API: PEP 503 HTML and PEP 691 JSON, API version 1.1.

Rendering is pure (records in, text or dicts out). Each file carries its sha256,
``requires-python``, PEP 592 yank status, PEP 658/714 core metadata, and in JSON
the PEP 700 ``size``, ``upload-time`` and the project's ``versions``. The same
rendering serves the hub's operators (``/simple/``) and its mirror of third-party
wheels (``/mirror/simple/``, issue #14): any record with these fields is listed.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import quote

from packaging.version import Version

from ._errors import RequestRejected


class Listed(Protocol):
    """What the index says about a file (an operator's ``FileRecord``, a ``MirrorRecord``)."""

    @property
    def filename(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def upload_time(self) -> str: ...
    @property
    def requires_python(self) -> str | None: ...
    @property
    def yanked(self) -> bool: ...
    @property
    def yanked_reason(self) -> str | None: ...
    @property
    def metadata_sha256(self) -> str: ...
    @property
    def url_path(self) -> str: ...


API_VERSION = "1.1"
JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"
# What a client may ask for (Accept or ?format=) -> what we answer with.
_MEDIA_TYPES = {
    JSON_V1: JSON_V1,
    "application/vnd.pypi.simple.latest+json": JSON_V1,
    "json": JSON_V1,
    HTML_V1: HTML_V1,
    "application/vnd.pypi.simple.latest+html": HTML_V1,
    TEXT_HTML: TEXT_HTML,
    "html": TEXT_HTML,
    "text/*": TEXT_HTML,
    "*/*": TEXT_HTML,
}


def choose_media_type(accept: str | None, format_param: str | None = None) -> str:
    """PEP 691 content negotiation: ``?format=`` wins, then the best Accept entry."""
    if format_param:
        if format_param not in _MEDIA_TYPES:
            raise RequestRejected(406, f"format {format_param!r} is not served; use one of "
                                       f"{JSON_V1}, {HTML_V1}, {TEXT_HTML}")
        return _MEDIA_TYPES[format_param]
    if not accept or not accept.strip():
        return TEXT_HTML
    for media_type in _by_quality(accept):
        if media_type in _MEDIA_TYPES:
            return _MEDIA_TYPES[media_type]
    raise RequestRejected(406, f"none of the accepted types ({accept}) is served; accept "
                               f"{JSON_V1}, {HTML_V1} or {TEXT_HTML}")


def _by_quality(accept: str) -> list[str]:
    entries: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept.split(",")):
        media_type, *params = (p.strip() for p in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                quality = _float(value)
        if quality > 0:
            entries.append((-quality, index, media_type.lower()))
    return [media_type for _, _, media_type in sorted(entries)]


def _float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


# --- index of projects --------------------------------------------------------------


def index_json(projects: Sequence[str]) -> dict[str, Any]:
    """The PEP 691 root page."""
    return {"meta": {"api-version": API_VERSION}, "projects": [{"name": p} for p in projects]}


def index_html(projects: Sequence[str]) -> str:
    """The PEP 503 root page."""
    links = "\n".join(f'    <a href="{quote(p)}/">{html.escape(p)}</a><br/>' for p in projects)
    return _page("Simple index", links)


# --- one project --------------------------------------------------------------------


def project_json(project: str, files: Sequence[Listed], to_root: str = "../../"
                 ) -> dict[str, Any]:
    """The PEP 691 project page (with PEP 700 fields); ``to_root`` leads from the page to
    the hub's root (file URLs are relative, so a proxy may serve the hub below a path)."""
    return {
        "meta": {"api-version": API_VERSION},
        "name": project,
        "versions": sorted({f.version for f in files}, key=Version),
        "files": [_file_json(f, to_root) for f in files],
    }


def _file_json(record: Listed, to_root: str) -> dict[str, Any]:
    metadata = {"sha256": record.metadata_sha256}
    return {
        "filename": record.filename,
        "url": to_root + record.url_path,
        "hashes": {"sha256": record.sha256},
        "requires-python": record.requires_python,
        "yanked": (record.yanked_reason or True) if record.yanked else False,
        "size": record.size,
        "upload-time": record.upload_time,
        "core-metadata": metadata,
        "dist-info-metadata": metadata,  # PEP 714: the old key, for older clients
    }


def project_html(project: str, files: Sequence[Listed], to_root: str = "../../") -> str:
    """The PEP 503 project page (with PEP 592, 658 and 714 attributes)."""
    links = "\n".join(f"    {_anchor(f, to_root)}<br/>" for f in files)
    return _page(f"Links for {project}", links)


def _anchor(record: Listed, to_root: str) -> str:
    attrs = [f'href="{html.escape(to_root + record.url_path)}#sha256={record.sha256}"']
    if record.requires_python:
        attrs.append(f'data-requires-python="{html.escape(record.requires_python)}"')
    if record.yanked:
        attrs.append(f'data-yanked="{html.escape(record.yanked_reason or "")}"')
    metadata = f"sha256={record.metadata_sha256}"
    attrs += [f'data-core-metadata="{metadata}"', f'data-dist-info-metadata="{metadata}"']
    return f"<a {' '.join(attrs)}>{html.escape(record.filename)}</a>"


def file_path(record: Listed) -> str:
    """The file's URL path relative to the hub's root."""
    return record.url_path


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>{html.escape(title)}</title>\n  </head>\n  <body>\n"
        f"    <h1>{html.escape(title)}</h1>\n{body}\n  </body>\n</html>\n"
    )
