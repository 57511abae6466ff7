"""``PUT /mirror/files/<project>/<filename>``: a third-party wheel into the mirror (#14).

The body is the wheel's bytes; ``Content-Digest: sha-256=:<base64>:`` (RFC 9530) its
sha256, which `hub mirror` takes from the lock, so the bytes are checked against the
lock while they stream in; ``X-Upload-Time`` upstream's PEP 700 upload time (kept, so a
lock cooldown means the same offline). PUT is idempotent: the same bytes again are a
no-op (200), other bytes under that name a 409.

Who may mirror: a token for every project. A mirrored wheel can end up in any
operator's env on the air-gapped side (the mirror is every offline lock's only
third-party index), so adding one is a change to the whole hub, not to one project: a
token scoped to ``image-embed`` may publish image-embed, not put a ``numpy`` under every
other operator.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

import anyio
import anyio.to_thread
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from .._dist import check_mirror_filename, inspect_mirrored
from .._exceptions import InvalidDistribution
from ._errors import RequestRejected
from ._storage import Storage, TokenRecord
from ._upload import UploadResult

_DIGEST = re.compile(r"(?:^|,)\s*sha-256=:([A-Za-z0-9+/=]+):")


def require_every_project(token: TokenRecord, what: str) -> None:
    """403 unless ``token`` is for every project (see the module docstring for why)."""
    if token.projects is not None:
        raise RequestRejected(403, f"token {token.prefix or '(no prefix)'} may change only "
                                   f"{token.scope}; {what} needs a token for every project, "
                                   "because mirrored wheels reach every operator's env — "
                                   "use one from `hub token create` (without --project)")


async def receive_mirrored(request: Request, store: Storage, project: str, filename: str,
                           max_bytes: int) -> UploadResult:
    """Stream, check and store one mirrored wheel; RequestRejected with the reason."""
    name, _ = _checked_name(filename)
    if name != project:
        raise RequestRejected(400, f"{filename} is a wheel of {name!r}, not of {project!r}; "
                                   f"PUT it at /mirror/files/{name}/{filename}")
    expected = content_digest(request.headers.get("content-digest", ""))
    upload_time = _upload_time(request.headers.get("x-upload-time"))
    temp = store.temp_path()
    try:
        actual = await receive_to_file(request.stream(), temp, max_bytes, "a mirrored file")
        if not hmac.compare_digest(actual, expected):
            raise RequestRejected(400, f"{filename}: its sha256 is {actual}, not {expected} "
                                       "(the lock's): the bytes changed on the way; nothing "
                                       "was stored")
        return await run_in_threadpool(_store, store, temp, filename, upload_time)
    finally:
        temp.unlink(missing_ok=True)


def content_digest(header: str) -> str:
    """The hex sha256 of an RFC 9530 ``Content-Digest`` header; 400 when absent."""
    match = _DIGEST.search(header)
    try:
        raw = base64.b64decode(match.group(1), validate=True) if match else b""
    except binascii.Error:
        raw = b""
    if len(raw) != 32:
        raise RequestRejected(400, "send the wheel's sha256 as `Content-Digest: sha-256=:"
                                   "<base64>:` (RFC 9530); `hub mirror` does")
    return raw.hex()


def _checked_name(filename: str) -> tuple[str, str]:
    try:
        return check_mirror_filename(filename)
    except InvalidDistribution as exc:
        raise RequestRejected(400, str(exc)) from None


def _upload_time(text: str | None) -> str | None:
    """Upstream's upload time (ISO 8601), never in the future; None: the hub's clock."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RequestRejected(400, f"X-Upload-Time {text!r} is not an ISO 8601 time") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    moment = min(moment.astimezone(timezone.utc), datetime.now(timezone.utc))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def receive_to_file(stream: AsyncIterator[bytes], temp: Path, max_bytes: int,
                          what: str) -> str:
    """Write a request body to ``temp`` (fsynced), hashing it; 413 as soon as it passes
    ``max_bytes``."""
    digest, total = hashlib.sha256(), 0
    async with await anyio.open_file(temp, "wb") as out:  # file writes off the event loop
        async for chunk in stream:
            total += len(chunk)
            if total > max_bytes:
                raise RequestRejected(413, f"{what} may be at most {max_bytes} bytes (`hub "
                                           "serve --max-mirror-size`, --max-import-size)")
            digest.update(chunk)
            await out.write(chunk)
        await out.flush()
        await anyio.to_thread.run_sync(os.fsync, out.wrapped.fileno())
    return digest.hexdigest()


def _store(store: Storage, temp: Path, filename: str, upload_time: str | None
           ) -> UploadResult:
    try:
        info = inspect_mirrored(temp, filename=filename)
    except InvalidDistribution as exc:
        raise RequestRejected(400, str(exc)) from None
    return UploadResult(filename, store.mirror.add(info, temp, upload_time))
