"""The page handlers: home, search results, project and version pages, and their static files.

Every page reads the storage's light listing (never a README body, issue 11) and lays
out the view objects of :mod:`._model` with Jinja2 (autoescaping every field). Sync
handlers, so Starlette runs them in its thread pool.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Sequence
from importlib.resources import files as package_files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from packaging.version import InvalidVersion, Version
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ..._operator import normalize_name
from .._api import by_project, latest, search
from .._storage import FileRecord, Storage
from . import _model
from ._readme import ReadmeCard, RenderCache, render_readme

# Larger READMEs are not rendered (about 0.7 ms per kB; a padded wheel stored 140 MB, #11).
MAX_README_BYTES = 256 * 1024
_STATIC_TYPES = {"hub.css": "text/css; charset=utf-8", "favicon.svg": "image/svg+xml"}


class Pages:
    """The web pages of one app: templates, static files and the cache of README cards."""

    def __init__(self, readmes: RenderCache | None = None) -> None:
        from ... import __version__

        self.readmes = readmes or RenderCache()
        folder = package_files(__package__) / "static"
        self.static = {name: folder.joinpath(name).read_bytes() for name in _STATIC_TYPES}
        self.templates = Environment(loader=PackageLoader(__package__), autoescape=True,
                                     undefined=StrictUndefined, trim_blocks=True,
                                     lstrip_blocks=True)
        self.templates.filters.update(size=_model.size_text, time=_model.time_text)
        self.templates.globals.update(hub_version=__version__, static=self._static_url)

    def routes(self) -> list[Route]:
        return [
            Route("/", self.home, methods=["GET"]),
            Route("/search", self.search),
            Route("/project/{project}/", self.project),
            Route("/project/{project}/{version}/", self.project),
            Route("/project/{project}", self.redirect),
            Route("/project/{project}/{version}", self.redirect),
            Route("/static/{name}", self.static_file),
        ]

    # --- pages ----------------------------------------------------------------------

    def home(self, request: Request) -> Response:
        cards = [_model.card(files) for files in by_project(_store(request).listing()).values()]
        return self._page("home.html", cards=cards, query="")

    def search(self, request: Request) -> Response:
        """The results of ``/api/search`` for the same query, in its order, as cards."""
        query = request.query_params.get("q", "")
        projects = by_project(_store(request).listing())
        results = search(query, projects)["results"]
        cards = [_model.card(projects[result["name"]]) for result in results]
        return self._page("search.html", cards=cards, query=query)

    def project(self, request: Request) -> Response:
        name, version = request.path_params["project"], request.path_params.get("version")
        canonical = _project_path(name, version)
        if canonical is None:
            return self._not_found(request, f"{version!r} is not a version (PEP 440)")
        if canonical != request.url.path:
            return _redirect(request, canonical)
        store = _store(request)
        files = store.listing(name)
        if not files:
            return self._unknown_project(request, name)
        shown = _model.version_files(files, version)
        if shown is None:
            return self._not_found(request, f"{name} {version} is not on this hub",
                                   [(f"/project/{name}/", f"{name}: every version")])
        view = _model.project_view(files, shown, str(request.base_url), _RequiresOf(store))
        return self._page("project.html", project=view, readme=self._readme(store, shown[0]),
                          query="")

    def redirect(self, request: Request) -> Response:
        """``/project/Image_Embed`` -> ``/project/image-embed/`` (301, as the simple index)."""
        name, version = request.path_params["project"], request.path_params.get("version")
        return _redirect(request, _project_path(name, version) or f"/project/{name}/")

    def static_file(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in self.static:
            return self._not_found(request, f"no static file {name!r}")
        return Response(self.static[name], media_type=_STATIC_TYPES[name],
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})

    # --- parts ----------------------------------------------------------------------

    def _readme(self, store: Storage, record: FileRecord) -> ReadmeCard:
        def render() -> ReadmeCard:
            text, size = store.readme(record.project, record.filename, MAX_README_BYTES) or (
                "", 0)
            if size > MAX_README_BYTES:
                return ReadmeCard(render_readme("", None), size, too_large=True)
            return ReadmeCard(render_readme(text, record.readme_content_type), size, False)

        return self.readmes.get((record.project, record.filename), render)

    def _unknown_project(self, request: Request, name: str) -> Response:
        """404, with the projects registering an operator of that name and close names."""
        projects = by_project(_store(request).listing())
        owners = [p for p, files in projects.items()
                  if any(op.name == name for op in _model.card(files).operators)]
        close = difflib.get_close_matches(name, list(projects), n=3)
        links = [(f"/project/{p}/", p) for p in dict.fromkeys(owners + close)]
        return self._not_found(request, f"project {name!r} is not on this hub", links)

    def _not_found(self, request: Request, message: str,
                   links: Sequence[tuple[str, str]] = ()) -> Response:
        return self._page("not_found.html", status=404, message=message, links=links,
                          query="")

    def _page(self, template: str, status: int = 200, **context: Any) -> Response:
        html = self.templates.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status)

    def _static_url(self, name: str) -> str:
        """The file's URL with its digest, so browsers may cache it forever."""
        return f"/static/{name}?v={hashlib.sha256(self.static[name]).hexdigest()[:12]}"


class _RequiresOf:
    """A hub project's newest requirements, or None when it is not on the hub (per page)."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        self.known: dict[str, Sequence[str] | None] = {}

    def __call__(self, name: str) -> Sequence[str] | None:
        if name not in self.known:
            files = self.store.listing(name)
            self.known[name] = latest(files)[0].requires_dist if files else None
        return self.known[name]


def routes() -> list[Route]:
    """The routes of the web pages, for a new app."""
    return Pages().routes()


def _store(request: Request) -> Storage:
    store: Storage = request.app.state.storage
    return store


def _project_path(name: str, version: str | None) -> str | None:
    """The canonical path of a project (and version) page; None for an invalid version."""
    if version is None:
        return f"/project/{normalize_name(name)}/"
    try:
        return f"/project/{normalize_name(name)}/{Version(version)}/"
    except InvalidVersion:
        return None


def _redirect(request: Request, path: str) -> Response:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(path + query, status_code=301)
