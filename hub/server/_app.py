"""The ASGI app: routes of the simple index, files, upload, JSON API and web pages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route

from .._exceptions import HubError
from .._operator import normalize_name
from . import _api, _simple, pages
from ._errors import RequestRejected
from ._headers import SecurityHeaders
from ._storage import Storage
from ._upload import authenticate, receive_upload

DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024  # PyPI's default per-file limit


def create_app(storage: Path, *, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES) -> Starlette:
    """The hub as an ASGI app over the storage directory ``storage`` (created if missing).

    Files a crash left without a database row are removed first.

    >>> app = create_app(Path("/tmp/hub-storage"))     # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8470)  # doctest: +SKIP
    """
    store = Storage(storage)
    store.recover()
    app = Starlette(routes=_routes(), exception_handlers={
        HubError: _hub_error, HTTPException: _http_error, Exception: _server_error,
    })
    app.add_middleware(SecurityHeaders)
    app.state.storage = store
    app.state.max_upload_bytes = max_upload_bytes
    return app


def _routes() -> list[Route]:
    return [
        Route("/", upload, methods=["POST"]),
        Route("/legacy/", upload, methods=["POST"]),
        Route("/legacy", upload, methods=["POST"]),
        Route("/simple", lambda r: RedirectResponse("/simple/", 301)),
        Route("/simple/", simple_index),
        Route("/simple/{project}/", simple_project),
        Route("/simple/{project}", simple_redirect),
        Route("/files/{project}/{filename}", download),
        Route("/api/health", health),
        Route("/api/search", search),
        Route("/api/projects/{project}", project_info),
        Route("/api/projects/{project}/{version}/yank", yank, methods=["POST"]),
        Route("/api/projects/{project}/{version}/unyank", yank, methods=["POST"]),
        # the web pages (issue 15): /, /search, /project/{name}/[{version}/], /static/
        *pages.routes(),
    ]


def _storage(request: Request) -> Storage:
    store: Storage = request.app.state.storage
    return store


# --- simple index and files (sync handlers run in Starlette's thread pool) -------------


def simple_index(request: Request) -> Response:
    media_type = _negotiate(request)
    projects = _storage(request).projects()
    if media_type == _simple.JSON_V1:
        return _simple_json(_simple.index_json(projects))
    return _simple_html(_simple.index_html(projects), media_type)


def simple_project(request: Request) -> Response:
    name = request.path_params["project"]
    if normalize_name(name) != name:
        return _redirect_to_project(request, name)
    media_type = _negotiate(request)
    files = _storage(request).files(name)
    if not files:
        raise HTTPException(404, f"project {name!r} is not on this hub")
    if media_type == _simple.JSON_V1:
        return _simple_json(_simple.project_json(name, files))
    return _simple_html(_simple.project_html(name, files), media_type)


def simple_redirect(request: Request) -> Response:
    return _redirect_to_project(request, request.path_params["project"])


def _redirect_to_project(request: Request, name: str) -> Response:
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/simple/{normalize_name(name)}/{query}", status_code=301)


def _negotiate(request: Request) -> str:
    return _simple.choose_media_type(request.headers.get("accept"),
                                     request.query_params.get("format"))


def _simple_json(data: dict[str, Any]) -> Response:
    return JSONResponse(data, media_type=_simple.JSON_V1, headers={"Vary": "Accept"})


def _simple_html(text: str, media_type: str) -> Response:
    return HTMLResponse(text, media_type=media_type, headers={"Vary": "Accept"})


def download(request: Request) -> Response:
    project, filename = request.path_params["project"], request.path_params["filename"]
    store = _storage(request)
    if filename.endswith(".metadata"):
        metadata = store.metadata(project, filename.removesuffix(".metadata"))
        if metadata is None:
            raise HTTPException(404, f"no file {filename!r} in project {project!r}")
        return Response(metadata, media_type="application/octet-stream")
    record = store.file(project, filename)
    if record is None:
        raise HTTPException(404, f"no file {filename!r} in project {project!r}")
    return FileResponse(store.path_of(project, filename), media_type="application/octet-stream",
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})


# --- upload -------------------------------------------------------------------------


async def upload(request: Request) -> Response:
    store = _storage(request)
    await run_in_threadpool(authenticate, request, store)
    result = await receive_upload(request, store, request.app.state.max_upload_bytes)
    return PlainTextResponse(result.message + "\n")


# --- JSON API -----------------------------------------------------------------------


async def health(request: Request) -> Response:
    # async: answered on the event loop, without waiting for a worker thread (the
    # readiness probe of tests and scripts); the count is one indexed query.
    from .. import __version__

    projects = _storage(request).projects()
    return JSONResponse({"status": "ok", "version": __version__, "projects": len(projects)})


def search(request: Request) -> Response:
    query = request.query_params.get("q", "")
    # the light listing: search never needs a README (issue 11), nor does its page
    return JSONResponse(_api.search(query, _api.by_project(_storage(request).listing())))


def project_info(request: Request) -> Response:
    name = normalize_name(request.path_params["project"])
    files = _storage(request).files(name)
    if not files:
        raise HTTPException(404, f"project {name!r} is not on this hub; try `hub search`")
    base = str(request.base_url).rstrip("/")
    return JSONResponse(_api.project_info(name, files, lambda f: f"{base}/{_simple.file_path(f)}"))


async def yank(request: Request) -> Response:
    store = _storage(request)
    await run_in_threadpool(authenticate, request, store)
    name = normalize_name(request.path_params["project"])
    version = _version(request.path_params["version"])
    yanked = request.url.path.endswith("/yank")
    reason = await _reason(request) if yanked else ""
    if not await run_in_threadpool(store.set_yanked, name, version, yanked, reason):
        raise HTTPException(404, f"{name} {version} is not on this hub")
    return JSONResponse({"name": name, "version": version, "yanked": yanked,
                         "yanked_reason": reason if yanked else None})


def _version(text: str) -> str:
    try:
        return str(Version(text))
    except InvalidVersion:
        raise RequestRejected(400, f"version {text!r} is not a valid version (PEP 440)")


async def _reason(request: Request) -> str:
    body = await request.body()
    try:
        data = json.loads(body) if body.strip() else {}
    except ValueError:
        raise RequestRejected(400, 'the body must be JSON like {"reason": "why"}') from None
    reason = data.get("reason", "") if isinstance(data, dict) else None
    if not isinstance(reason, str):
        raise RequestRejected(400, 'the body must be JSON like {"reason": "why"}')
    return reason


# --- errors: JSON under /api, one plain-text line elsewhere ----------------------------


async def _hub_error(request: Request, exc: Exception) -> Response:
    status = exc.status if isinstance(exc, RequestRejected) else 400
    return _error(request, status, str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(request, exc.status_code, exc.detail)


async def _server_error(request: Request, exc: Exception) -> Response:
    return _error(request, 500, f"internal error: {type(exc).__name__}: {exc}")


def _error(request: Request, status: int, message: str) -> Response:
    headers = {"WWW-Authenticate": 'Basic realm="opshub"'} if status == 401 else None
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    return PlainTextResponse(message + "\n", status_code=status, headers=headers)
