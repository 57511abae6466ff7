"""Fetching upstream wheels for `hub mirror`, checked against the lock, resumable (#14).

A file of a find-links folder is read where it lies. A URL is downloaded into a spool
folder (``<cache dir>/mirror``) as ``<name>.part``, its sha256 computed while it streams
and compared with the lock's when it ends, then renamed to ``<name>``: so after a kill a
finished download is never fetched again, and a cut one resumes where it stopped (an
HTTP Range request; a source that ignores Range sends it whole again).

The spool is keyed by filename only, and another run may have locked other bytes under
that name (another operator's lock, a rebuilt wheel): so whatever the spool holds is
checked against *this* lock's sha256 again before use, and thrown away if it is not one
of them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import IO

import requests
import urllib3

from runtime_env import MirrorError, UpstreamError

from ._dist import file_sha256

TIMEOUT = 60.0  # seconds to connect and between bytes
_CHUNK = 1 << 20
Progress = Callable[[int], None]


def fetch(url: str, filename: str, hashes: Collection[str], spool: Path,
          session: requests.Session, progress: Progress = lambda n: None) -> tuple[Path, str]:
    """A local file holding ``url``'s bytes, and their sha256, one of ``hashes``."""
    spool.mkdir(parents=True, exist_ok=True)
    done = spool / filename
    if done.is_file():
        digest = _sha_of(done)
        if digest in hashes:
            return done, digest
        done.unlink()  # another lock's bytes under this name (an earlier run): never these
    part = spool / f"{filename}.part"
    resumed = part.exists()
    digest = _download(url, part, session, progress)
    if digest not in hashes and resumed:  # a part of another lock's bytes: fetch it whole
        part.unlink(missing_ok=True)
        digest = _download(url, part, session, progress)
    if digest not in hashes:
        part.unlink(missing_ok=True)
        raise MirrorError(f"{url} served bytes with sha256 {digest}, not the lock's "
                          f"({', '.join(sorted(hashes))[:140]}): the source changed the "
                          "file, or it is not the one locked — refusing to mirror it")
    os.replace(part, done)
    return done, digest


def check_local(path: Path, hashes: Collection[str]) -> tuple[Path, str]:
    """A find-links file and its sha256, after checking it is one of ``hashes``."""
    digest = _sha_of(path)
    if digest not in hashes:
        raise MirrorError(f"{path} has sha256 {digest}, not the lock's: the folder holds "
                          "another build of that name — refusing to mirror it")
    return path, digest


def _download(url: str, part: Path, session: requests.Session, progress: Progress) -> str:
    """Download into ``part``, resuming what it holds; the sha256 of the whole file."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        with session.get(url, headers=headers, stream=True, timeout=TIMEOUT) as response:
            if response.status_code == 416 and have:  # nothing left: the part is whole
                return _sha_of(part)
            response.raise_for_status()
            resumed = have and response.status_code == 206
            digest = _sha_of_handle(part) if resumed else hashlib.sha256()
            with open(part, "ab" if resumed else "wb", buffering=0) as out:
                _copy(_arriving(response), out, digest, progress)
                out.flush()
                os.fsync(out.fileno())
    # _arriving reads urllib3's stream itself, so a cut body raises urllib3's ProtocolError
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        raise UpstreamError(f"cannot fetch {url} from the upstream source: "
                            f"{type(exc).__name__}: {exc} — check that the source is "
                            "reachable, then run `hub mirror` again (what was fetched is "
                            "kept)", url) from None
    return digest.hexdigest()


def _arriving(response: requests.Response) -> Iterator[bytes]:
    """The body as it arrives (``read1``: what the socket has, up to a chunk), written
    unbuffered, so a download cut by a kill keeps every byte that reached this machine."""
    raw = response.raw
    while chunk := raw.read1(_CHUNK, decode_content=True):
        yield chunk


def _copy(chunks: Iterable[bytes], out: IO[bytes], digest: hashlib._Hash,
          progress: Progress) -> None:
    for chunk in chunks:
        digest.update(chunk)
        out.write(chunk)
        progress(len(chunk))


def _sha_of(path: Path) -> str:
    return file_sha256(path)[0]


def _sha_of_handle(path: Path) -> hashlib._Hash:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest
