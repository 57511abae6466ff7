"""The legacy upload API (what twine, ``uv publish`` and ``hub publish`` speak).

A multipart POST with ``:action=file_upload``, ``protocol_version=1``, the file in
``content`` and its hex ``sha256_digest``; HTTP Basic auth ``__token__:<token>``.
Order of checks: token, declared size, the body streamed under the size limit,
form fields, filename, the token's scope, digest, then the wheel itself
(:func:`hub._dist.inspect_wheel`) before the storage commits it. Any rejection is
a 4xx with a one-line reason and leaves the store unchanged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, ParamSpec, TypeVar

from packaging.version import InvalidVersion, Version
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from .._dist import MAX_METADATA_BYTES, check_filename, inspect_wheel
from .._exceptions import InvalidDistribution
from .._operator import normalize_name
from ._errors import RequestRejected
from ._storage import Storage, TokenRecord, write_durably
from ._tokens import find_token

TOKEN_USER = "__token__"
MAX_FIELD_BYTES = MAX_METADATA_BYTES  # a non-file field: the README (description) is the largest
P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class UploadResult:
    """What an accepted upload did."""

    filename: str
    created: bool  # False: an identical file was already there

    @property
    def message(self) -> str:
        if self.created:
            return f"stored {self.filename}"
        return f"{self.filename} already exists with identical content; nothing changed"


def authenticate(request: Request, storage: Storage) -> TokenRecord:
    """Check HTTP Basic auth ``__token__:<token>``: 401 when missing, 403 when wrong."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise RequestRejected(401, "authentication required: send HTTP Basic auth with user "
                                   f"{TOKEN_USER} and a token from `hub token create`")
    try:
        user, _, token = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise RequestRejected(401, "malformed Basic auth header; send base64('__token__:TOKEN')")
    record = find_token(storage, token) if user == TOKEN_USER else None
    if record is None:
        raise RequestRejected(403, f"invalid credentials: the user must be {TOKEN_USER} and the "
                                   "password a token of this hub (`hub token create`)")
    return record


def require_scope(token: TokenRecord, project: str) -> None:
    """403 unless ``token`` may change ``project`` (upload, yank, unyank)."""
    if not token.allows(project):
        raise RequestRejected(403, f"token {token.prefix or '(no prefix)'} may change only "
                                   f"{token.scope}, not {project!r}; use a token for "
                                   f"{project!r} (`hub token create --project {project}`)")


async def receive_upload(request: Request, storage: Storage, max_bytes: int,
                         token: TokenRecord) -> UploadResult:
    """Read, validate and store one upload; raise RequestRejected with the reason otherwise."""
    _check_declared_size(request, max_bytes)
    form = await _parse_form(request, max_bytes)
    try:
        content, digest = _upload_fields(form)
        return await run_in_threadpool(_store, storage, content, digest, form, token)
    finally:
        await form.close()


def _check_declared_size(request: Request, max_bytes: int) -> None:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)


def _too_large(max_bytes: int) -> RequestRejected:
    return RequestRejected(413, f"upload too large: the hub accepts at most {max_bytes} bytes "
                                "(`hub serve --max-upload-size`)")


async def _parse_form(request: Request, max_bytes: int) -> FormData:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise RequestRejected(400, "an upload must be multipart/form-data (the legacy upload "
                                   "API); use `hub publish`, twine or `uv publish`")
    parser = MultiPartParser(request.headers, _limited(request.stream(), max_bytes),
                             max_files=4, max_fields=200, max_part_size=MAX_FIELD_BYTES)
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise RequestRejected(400, f"malformed multipart body: {exc}") from None


async def _limited(stream: AsyncIterator[bytes], max_bytes: int) -> AsyncGenerator[bytes, None]:
    """The request body, failing as soon as it passes ``max_bytes`` (not after reading it)."""
    total = 0
    async for chunk in stream:
        total += len(chunk)
        if total > max_bytes:
            raise _too_large(max_bytes)
        yield chunk


def _upload_fields(form: FormData) -> tuple[UploadFile, str]:
    action = form.get(":action")
    if action != "file_upload":
        raise RequestRejected(400, f"unsupported :action {action!r}; only 'file_upload' is "
                                   "served")
    if form.get("protocol_version", "1") != "1":
        raise RequestRejected(400, "unsupported protocol_version; only '1' is served")
    content = form.get("content")
    if not isinstance(content, UploadFile) or not content.filename:
        raise RequestRejected(400, "the upload has no file: send it in the 'content' field")
    filetype = form.get("filetype", "bdist_wheel")
    if filetype != "bdist_wheel":
        raise RequestRejected(400, f"filetype {filetype!r} is not accepted: the hub serves "
                                   "wheels only (bdist_wheel); build one with "
                                   "`python -m build --wheel`")
    digest = form.get("sha256_digest")
    if not isinstance(digest, str) or not digest:
        raise RequestRejected(400, "sha256_digest is missing: send the file's hex sha256")
    return content, digest.strip().lower()


def _store(storage: Storage, content: UploadFile, digest: str, form: FormData,
           token: TokenRecord) -> UploadResult:
    filename = str(content.filename)
    project, version = _checked(check_filename, filename)
    require_scope(token, project)
    _check_form_matches(form, filename, project, version)
    temp = storage.temp_path()
    try:
        actual = _copy_hashed(content.file, temp)
        if not hmac.compare_digest(actual, digest):
            raise RequestRejected(400, f"{filename}: sha256_digest {digest} does not match the "
                                       f"received file ({actual}); the upload was corrupted")
        info = _checked(inspect_wheel, temp, filename=filename)
        return UploadResult(filename, storage.add(info, temp))
    finally:
        temp.unlink(missing_ok=True)  # gone already when stored


def _checked(check: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a hub._dist check; its InvalidDistribution becomes a 400 with the same message."""
    try:
        return check(*args, **kwargs)
    except InvalidDistribution as exc:
        raise RequestRejected(400, str(exc)) from None


def _check_form_matches(form: FormData, filename: str, project: str, version: str) -> None:
    name = form.get("name")
    if isinstance(name, str) and name and normalize_name(name) != project:
        raise RequestRejected(400, f"{filename}: form field name={name!r} does not match the "
                                   f"filename's project {project!r}")
    form_version = form.get("version")
    if isinstance(form_version, str) and form_version and _canonical(form_version) != version:
        raise RequestRejected(400, f"{filename}: form field version={form_version!r} does not "
                                   f"match the filename's version {version!r}")


def _canonical(version: str) -> str:
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def _copy_hashed(source: IO[bytes], temp: Path) -> str:
    digest = hashlib.sha256()
    source.seek(0)

    def chunks() -> Iterator[bytes]:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
            yield chunk

    write_durably(temp, chunks())
    return digest.hexdigest()
