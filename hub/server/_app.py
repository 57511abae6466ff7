"""The ASGI app: routes of the simple index, files, upload, JSON API and web pages."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
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

from .. import _local_hub
from .._dist import MAX_METADATA_BYTES
from .._exceptions import HubError, StorageError
from .._operator import normalize_name
from . import _api, _simple, pages
from ._errors import RequestRejected
from ._headers import SecurityHeaders
from ._import import receive_bundle
from ._mirror_upload import receive_mirrored, require_every_project
from ._recovery import Area, recover
from ._storage import FileRecord, Storage
from ._upload import authenticate, receive_upload, require_scope

DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024  # PyPI's default per-file limit (100 MiB)
# A mirrored wheel is upstream's: torch's CPU wheel is 183 MiB, its CUDA ones about 900 MiB,
# so the operators' 100 MiB would refuse the very wheels an air-gapped GPU cluster needs.
DEFAULT_MAX_MIRROR_BYTES = 4 * 1024**3
DEFAULT_MAX_IMPORT_BYTES = 64 * 1024**3  # a bundle: a few operators and all they need
logger = logging.getLogger("hub.server")


def create_app(storage: Path, *, max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
               max_mirror_bytes: int = DEFAULT_MAX_MIRROR_BYTES,
               max_import_bytes: int = DEFAULT_MAX_IMPORT_BYTES,
               local_port: int | None = None) -> Starlette:
    """The hub as an ASGI app over the storage directory ``storage`` (created if missing).

    The storage is recovered first (:func:`hub.server._recovery.recover`; what it did
    is ``app.state.recovery``). With ``local_port`` (the port `hub serve` listens on)
    the app proves itself to same-machine clients before they send the local token.

    >>> app = create_app(Path("/tmp/hub-storage"))     # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8470)  # doctest: +SKIP
    """
    store, report = recover(storage)
    app = Starlette(routes=_routes(), exception_handlers={
        HubError: _hub_error, HTTPException: _http_error, Exception: _server_error,
    })
    app.add_middleware(SecurityHeaders)
    app.state.storage = store
    app.state.recovery = report
    app.state.max_upload_bytes = max_upload_bytes
    app.state.max_mirror_bytes = max_mirror_bytes
    app.state.max_import_bytes = max_import_bytes
    app.state.local_port = local_port
    app.state.local_key = _local_hub.local_key(store.root) if local_port else None
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
        # the mirror of third-party wheels (issue #14): its own index, same fields
        Route("/mirror/simple", lambda r: RedirectResponse("/mirror/simple/", 301)),
        Route("/mirror/simple/", mirror_index),
        Route("/mirror/simple/{project}/", mirror_project),
        Route("/mirror/simple/{project}", simple_redirect),
        Route("/mirror/files/{project}/{filename}", mirror_download),
        Route("/mirror/files/{project}/{filename}", mirror_upload, methods=["PUT"]),
        Route("/api/import", import_bundle, methods=["POST"]),
        Route("/api/health", health),
        Route(_local_hub.PROOF_PATH, local_proof),
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
    return _index_page(request, _storage(request).projects())


def mirror_index(request: Request) -> Response:
    return _index_page(request, _storage(request).mirror.projects())


def _index_page(request: Request, projects: list[str]) -> Response:
    media_type = _negotiate(request)
    if media_type == _simple.JSON_V1:
        return _simple_json(_simple.index_json(projects))
    return _simple_html(_simple.index_html(projects), media_type)


def simple_project(request: Request) -> Response:
    name = request.path_params["project"]
    if normalize_name(name) != name:
        return _redirect_to_project(request, name)
    files = _storage(request).listing(name)  # pip's hot path: never a README (issue 11)
    if not files:
        raise HTTPException(404, f"project {name!r} is not on this hub")
    return _project_page(request, name, files, "../../")


def mirror_project(request: Request) -> Response:
    name = request.path_params["project"]
    if normalize_name(name) != name:
        return _redirect_to_project(request, name)
    files = _storage(request).mirror.files(name)
    if not files:
        raise HTTPException(404, f"project {name!r} is not mirrored on this hub; mirror it "
                                 "with `hub mirror` (on a connected machine)")
    return _project_page(request, name, files, "../../../")


def _project_page(request: Request, name: str, files: Sequence[_simple.Listed],
                  to_root: str) -> Response:
    if _negotiate(request) == _simple.JSON_V1:
        return _simple_json(_simple.project_json(name, files, to_root))
    return _simple_html(_simple.project_html(name, files, to_root), _negotiate(request))


def simple_redirect(request: Request) -> Response:
    return _redirect_to_project(request, request.path_params["project"])


def _redirect_to_project(request: Request, name: str) -> Response:
    query = f"?{request.url.query}" if request.url.query else ""
    index = "/mirror/simple/" if request.url.path.startswith("/mirror/") else "/simple/"
    return RedirectResponse(f"{index}{normalize_name(name)}/{query}", status_code=301)


def _negotiate(request: Request) -> str:
    return _simple.choose_media_type(request.headers.get("accept"),
                                     request.query_params.get("format"))


def _simple_json(data: dict[str, Any]) -> Response:
    return JSONResponse(data, media_type=_simple.JSON_V1, headers={"Vary": "Accept"})


def _simple_html(text: str, media_type: str) -> Response:
    return HTMLResponse(text, media_type=media_type, headers={"Vary": "Accept"})


def download(request: Request) -> Response:
    return _download(request, _storage(request))


def mirror_download(request: Request) -> Response:
    return _download(request, _storage(request).mirror)


def _download(request: Request, area: Area) -> Response:
    project, filename = request.path_params["project"], request.path_params["filename"]
    if filename.endswith(".metadata"):
        metadata = area.metadata(project, filename.removesuffix(".metadata"))
        if metadata is None:
            raise HTTPException(404, f"no file {filename!r} in project {project!r}")
        return Response(metadata, media_type="application/octet-stream")
    if area.file(project, filename) is None:
        raise HTTPException(404, f"no file {filename!r} in project {project!r}")
    try:
        path = area.path_of(project, filename)
    except ValueError:
        path = None
    if path is None or path.is_symlink() or not path.is_file():
        logger.error("%s/%s is listed but missing from the storage; run `hub admin check`",
                     project, filename)
        raise HTTPException(404, f"{filename} is listed but missing from the hub's storage; "
                                 "tell the hub's admin (`hub admin check` finds it)")
    return FileResponse(path, media_type="application/octet-stream",
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})


# --- upload -------------------------------------------------------------------------


async def upload(request: Request) -> Response:
    store = _storage(request)
    token = await run_in_threadpool(authenticate, request, store)
    result = await receive_upload(request, store, request.app.state.max_upload_bytes, token)
    return PlainTextResponse(result.message + "\n")


async def mirror_upload(request: Request) -> Response:
    store = _storage(request)
    token = await run_in_threadpool(authenticate, request, store)
    require_every_project(token, "mirroring")
    result = await receive_mirrored(request, store, request.path_params["project"],
                                    request.path_params["filename"],
                                    request.app.state.max_mirror_bytes)
    return PlainTextResponse(result.message + "\n", status_code=201 if result.created else 200)


async def import_bundle(request: Request) -> Response:
    store = _storage(request)
    token = await run_in_threadpool(authenticate, request, store)
    require_every_project(token, "importing a bundle")
    report = await receive_bundle(request, store, request.app.state.max_import_bytes)
    return JSONResponse(dict(report))


# --- JSON API -----------------------------------------------------------------------


async def health(request: Request) -> Response:
    # The count is a database query: in the thread pool, never blocking the event loop
    # (a locked or slow database would stall every request, issue 11).
    from .. import __version__

    projects = await run_in_threadpool(_storage(request).projects)
    return JSONResponse({"status": "ok", "version": __version__, "projects": len(projects)})


def search(request: Request) -> Response:
    query = request.query_params.get("q", "")
    # the light listing: search never needs a README (issue 11), nor does its page
    return JSONResponse(_api.search(query, _api.by_project(_storage(request).listing())))


def project_info(request: Request) -> Response:
    name = normalize_name(request.path_params["project"])
    store = _storage(request)
    files = store.listing(name)  # no READMEs: `hub install` asks on its way to pip
    if not files:
        raise HTTPException(404, f"project {name!r} is not on this hub; try `hub search`")
    base = str(request.base_url).rstrip("/")
    readme = _readme(store, files, request.query_params.get("readme"))
    return JSONResponse(_api.project_info(name, files, lambda f: f"{base}/{_simple.file_path(f)}",
                                          readme))


def _readme(store: Storage, files: Sequence[FileRecord], version: str | None
            ) -> tuple[str, str] | None:
    """(version, README) of ``?readme=VERSION`` ("latest": the newest), or None; a README
    over the METADATA cap is "" (only hubs from before the cap stored one)."""
    if not version:
        return None
    if version == "latest":
        wanted = _api.latest(files)
    else:
        asked = Version(_version(version))
        wanted = [f for f in files if Version(f.version) == asked]
    if not wanted:
        return None
    found = store.readme(wanted[0].project, wanted[0].filename, MAX_METADATA_BYTES)
    return wanted[0].version, found[0] if found else ""


def local_proof(request: Request) -> Response:
    """Prove to a same-machine client that this is the hub that wrote its local token."""
    key, port = request.app.state.local_key, request.app.state.local_port
    challenge = request.query_params.get("challenge", "")
    if key is None:
        raise HTTPException(404, "this hub keeps no local token (it was not started by "
                                 "`hub serve` on a known port); set HUB_TOKEN")
    if not 16 <= len(challenge) <= 128:
        raise RequestRejected(400, "send ?challenge= with 16 to 128 random characters")
    return JSONResponse({"port": port, "proof": _local_hub.proof(key, challenge, port)})


async def yank(request: Request) -> Response:
    store = _storage(request)
    token = await run_in_threadpool(authenticate, request, store)
    name = normalize_name(request.path_params["project"])
    require_scope(token, name)
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
    if isinstance(exc, StorageError):  # the server's fault, and its message holds paths
        return await _server_error(request, exc)
    status = exc.status if isinstance(exc, RequestRejected) else 400
    return _error(request, status, str(exc))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(request, exc.status_code, exc.detail)


async def _server_error(request: Request, exc: Exception) -> Response:
    # The body never shows internals (paths, SQL, a traceback): the log has them (#11).
    # Starlette re-raises after this answer, so uvicorn logs the traceback next.
    logger.error("%s %s failed: %s: %s", request.method, request.url.path,
                 type(exc).__name__, exc)
    return _error(request, 500, f"internal error while answering {request.method} "
                                f"{request.url.path}; the details are in the hub's log")


def _error(request: Request, status: int, message: str) -> Response:
    headers = {"WWW-Authenticate": 'Basic realm="opshub"'} if status == 401 else None
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    return PlainTextResponse(message + "\n", status_code=status, headers=headers)
