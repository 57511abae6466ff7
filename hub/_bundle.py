"""The bundle: one archive that carries operators and everything their envs need into an
air-gapped hub (issue #14). Written by `hub bundle`, verified whole by `hub import`
(on the client, to fail before uploading, and again by the hub, which decides).

A plain tar (wheels are compressed already; ``tar tf`` lists it)::

    manifest.json          what is inside: operators, targets, locks, and every file with
                           its kind, project, sha256, size and upstream upload time
    operators/<filename>   the operators' own wheels (from the hub)
    mirror/<filename>      the mirrored third-party wheels their locks pin
    SHA256                 the sha256 of every byte of the archive before this member

:func:`read_bundle` refuses the whole bundle on any difference: one altered byte
anywhere (a wheel, the manifest, a tar header, padding) changes the last member's
sum, a member's sha256 or its size; a member the manifest does not name, a file no
lock pins, or a lock pin without its file are refused too.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tarfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Literal, TypedDict

from packaging.utils import canonicalize_name

from ._exceptions import BundleError

FORMAT = 1
MANIFEST = "manifest.json"
TRAILER = "SHA256"
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
Kind = Literal["operator", "mirror"]
_CHUNK = 1 << 20


class BundleFile(TypedDict):
    """One wheel in the bundle, as the manifest lists it."""

    path: str  # "operators/<filename>" or "mirror/<filename>"
    kind: Kind
    project: str
    version: str
    filename: str
    sha256: str
    size: int
    upload_time: str | None


class BundleLock(TypedDict):
    """One lock the bundle's files satisfy: whose, for which target, and its pins."""

    operators: list[str]
    target: dict[str, str]
    role: str  # "operator", "runtime" (what `import hub` needs), "node-tool" (the pinned uv)
    pins: dict[str, str]
    hashes: dict[str, list[str]]


class Manifest(TypedDict):
    format: int
    created: str
    hub: str
    operators: list[str]
    targets: list[dict[str, str]]
    locks: list[BundleLock]
    files: list[BundleFile]


@dataclass(frozen=True)
class Member:
    """A file to put in a bundle: its manifest entry and how to read its bytes."""

    entry: BundleFile
    open: Callable[[], IO[bytes]]


def new_manifest(hub: str, operators: Sequence[str], targets: Sequence[dict[str, str]],
                 locks: Sequence[BundleLock], files: Sequence[BundleFile]) -> Manifest:
    created = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Manifest(format=FORMAT, created=created, hub=hub, operators=list(operators),
                    targets=list(targets), locks=list(locks), files=list(files))


def write_bundle(path: Path, manifest: Manifest, members: Sequence[Member],
                 progress: Callable[[int], None] = lambda n: None) -> str:
    """Write the bundle to ``path`` (via a temp file, renamed at the end); returns the
    archive's own sha256 (the trailer's), to give the air-gapped side out of band."""
    check_manifest(manifest)
    temp = path.with_name(f".{path.name}.partial")
    try:
        with open(temp, "wb") as raw:
            out = _Hashing(raw)
            with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
                _add(tar, MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
                for member in members:
                    _add_file(tar, member, progress)
                digest = out.digest()  # every byte before the trailer's header
                _add(tar, TRAILER, f"{digest}\n".encode())
        temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)
    return digest


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 0
    tar.addfile(info, io.BytesIO(data))


def _add_file(tar: tarfile.TarFile, member: Member, progress: Callable[[int], None]) -> None:
    entry = member.entry
    info = tarfile.TarInfo(entry["path"])
    info.size, info.mode, info.mtime = entry["size"], 0o644, 0
    with member.open() as source:
        reader = _Checked(source, entry, progress)
        try:
            tar.addfile(info, reader)
        except OSError as exc:  # tarfile's "unexpected end of data", or the hub's stream
            raise BundleError(f"{entry['path']} could not be read whole ({exc}); the bundle "
                              "was not written — try again") from None
        reader.finish()


class _Hashing(io.RawIOBase):
    """A write-only stream that hashes what passes through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.sha, self.count = raw, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.count

    def write(self, data: Any) -> int:
        view = bytes(data)
        self.sha.update(view)
        self.raw.write(view)
        self.count += len(view)
        return len(view)

    def digest(self) -> str:
        return self.sha.hexdigest()


class _Checked(io.RawIOBase):
    """Reads a member's source, checking its size and sha256 against the entry."""

    def __init__(self, source: IO[bytes], entry: BundleFile,
                 progress: Callable[[int], None]) -> None:
        self.source, self.entry, self.progress = source, entry, progress
        self.sha, self.count = hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.sha.update(data)
        self.count += len(data)
        self.progress(len(data))
        return data

    def finish(self) -> None:
        if (self.sha.hexdigest(), self.count) != (self.entry["sha256"], self.entry["size"]):
            raise BundleError(f"{self.entry['path']} read back with sha256 "
                              f"{self.sha.hexdigest()} ({self.count} bytes), not the "
                              f"{self.entry['sha256']} ({self.entry['size']} bytes) it was "
                              "listed with; the bundle was not written — try again")


# --- reading and verifying -------------------------------------------------------------


def read_bundle(path: Path, extract: Callable[[BundleFile], IO[bytes]] | None = None,
                name: str | None = None) -> Manifest:
    """Verify the whole bundle and return its manifest; raise :class:`BundleError` (one
    line, naming it ``name`` or by its filename) on the first difference. With
    ``extract`` each wheel's bytes are also written to the stream it returns for that
    entry (the hub's temp files), in the same pass."""
    shown = name or f"bundle {path.name}"
    _check_trailer(path, shown)
    with tarfile.open(path, mode="r:") as tar:
        members = tar.getmembers()
        manifest = _manifest(shown, tar, members)
        _check_members(shown, members, manifest)
        entries = {f["path"]: f for f in manifest["files"]}
        for member in members[1:-1]:
            _verify(shown, tar, member, entries[member.name], extract)
    return manifest


def _check_trailer(path: Path, shown: str) -> None:
    """The last member holds the sha256 of every byte before its header, and only zero
    padding follows it: no byte of the archive can change unseen."""
    last, stated = _trailer(path, shown)
    actual, tail_clean = _sum_before(path, last.offset, last.offset_data + last.size)
    if stated != actual:
        raise _refused(shown, f"its bytes have sha256 {actual}, but it was written with "
                              f"{stated[:64]!r}: the archive changed after `hub bundle`")
    if not tail_clean:
        raise _refused(shown, "bytes after its last member changed (tar padding is all zero)")


def _trailer(path: Path, shown: str) -> tuple[tarfile.TarInfo, str]:
    """The archive's last member (its own sum) and the sum it states; refused when the
    file is no tar (empty, cut short, other bytes) or does not end with that member."""
    try:
        with tarfile.open(path, mode="r:") as tar:
            members = tar.getmembers()
            last = members[-1] if members else None
            if last is None or last.name != TRAILER or not last.isfile() or last.size > 200:
                raise _refused(shown, f"its last member is not {TRAILER} (the archive's own "
                                      "sum): it was cut short, a tar header is damaged, or it "
                                      "is not an opshub bundle")
            extracted = tar.extractfile(last)
            stated = extracted.read().decode("ascii", "replace").strip() if extracted else ""
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise _refused(shown, f"it is not a readable tar archive ({exc})") from None
    return last, stated


def archive_sha256(path: Path) -> str:
    """The archive's own sha256, as `hub bundle` printed it (the trailer's sum);
    :class:`BundleError` when the file is not a readable bundle."""
    last, _ = _trailer(path, f"bundle {path.name}")
    return _sum_before(path, last.offset, last.offset_data + last.size)[0]


def _sum_before(path: Path, offset: int, end: int) -> tuple[str, bool]:
    sha, done = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while done < offset:
            chunk = f.read(min(_CHUNK, offset - done))
            if not chunk:
                break
            sha.update(chunk)
            done += len(chunk)
        f.seek(end)
        tail = f.read()
    return sha.hexdigest(), not tail.strip(b"\0")


def _manifest(path: str, tar: tarfile.TarFile, members: list[tarfile.TarInfo]) -> Manifest:
    first = members[0]
    if first.name != MANIFEST or not first.isfile() or first.size > MAX_MANIFEST_BYTES:
        raise _refused(path, f"its first member is not {MANIFEST}")
    extracted = tar.extractfile(first)
    try:
        data: Any = json.loads(extracted.read() if extracted else b"")
    except ValueError as exc:
        raise _refused(path, f"{MANIFEST} is not JSON ({exc})") from None
    try:
        check_manifest(data)
    except BundleError as exc:
        raise _refused(path, str(exc)) from None
    manifest: Manifest = data
    return manifest


def check_manifest(data: Any) -> None:
    """BundleError unless ``data`` is a manifest of this format whose files all belong to
    its locks (or are its operators) and whose locks all have their files."""
    if not (isinstance(data, dict) and data.get("format") == FORMAT
            and isinstance(data.get("files"), list) and isinstance(data.get("locks"), list)):
        raise BundleError(f"{MANIFEST} is not an opshub bundle manifest of format {FORMAT}")
    files, locks = data["files"], data["locks"]
    if not all(_is_file_entry(f) for f in files) or not all(_is_lock(lk) for lk in locks):
        raise BundleError(f"{MANIFEST} lists a file or a lock of the wrong shape")
    paths = [f["path"] for f in files]
    twice = sorted({p for p in paths if paths.count(p) > 1})
    if twice:
        raise BundleError(f"{MANIFEST} lists {twice[0]} twice")
    _check_coverage(files, locks)


def _is_file_entry(entry: Any) -> bool:
    if not isinstance(entry, dict):
        return False
    texts = all(isinstance(entry.get(k), str) for k in ("path", "project", "version",
                                                         "filename", "sha256"))
    return (texts and entry.get("kind") in ("operator", "mirror")
            and isinstance(entry.get("size"), int) and entry["size"] >= 0
            and entry["path"] == f"{_FOLDERS[entry['kind']]}/{entry['filename']}"
            and "/" not in entry["filename"] and entry["filename"] not in ("", ".", "..")
            and (entry.get("upload_time") is None or isinstance(entry["upload_time"], str)))


_FOLDERS = {"operator": "operators", "mirror": "mirror"}


def _is_lock(lock: Any) -> bool:
    return (isinstance(lock, dict) and isinstance(lock.get("pins"), dict)
            and isinstance(lock.get("hashes"), dict)
            and all(isinstance(v, str) for v in lock["pins"].values())
            and all(isinstance(h, list) for h in lock["hashes"].values()))


def _check_coverage(files: list[BundleFile], locks: list[BundleLock]) -> None:
    hashed = {(canonicalize_name(n), h) for lock in locks for n, hs in lock["hashes"].items()
              for h in hs}
    mirrored = [f for f in files if f["kind"] == "mirror"]
    for entry in mirrored:
        if (entry["project"], entry["sha256"]) not in hashed:
            raise BundleError(f"{entry['path']} (sha256 {entry['sha256']}) is pinned by none "
                              "of the bundle's locks")
    have = {(f["project"], f["sha256"]) for f in files}
    operators = {f["project"] for f in files if f["kind"] == "operator"}
    for lock in locks:
        for name, hashes in lock["hashes"].items():
            key = canonicalize_name(name)
            if key not in operators and not any((key, h) in have for h in hashes):
                raise BundleError(f"the lock of {', '.join(lock['operators'])} pins {key} "
                                  f"{lock['pins'].get(name, '?')}, but no file of it is in "
                                  "the bundle")


def _check_members(path: str, members: list[tarfile.TarInfo], manifest: Manifest) -> None:
    listed = {f["path"]: f for f in manifest["files"]}
    inner = members[1:-1]
    names = [m.name for m in inner]
    for member in inner:
        if member.name not in listed or not member.isfile() or names.count(member.name) > 1:
            raise _refused(path, f"it holds {member.name!r}, which {MANIFEST} does not list "
                                 "once as a file")
    missing = sorted(set(listed) - set(names))
    if missing:
        raise _refused(path, f"{MANIFEST} lists {missing[0]}, which the archive lacks")


def _verify(path: str, tar: tarfile.TarFile, member: tarfile.TarInfo, entry: BundleFile,
            extract: Callable[[BundleFile], IO[bytes]] | None) -> None:
    if member.size != entry["size"]:
        raise _refused(path, f"{member.name} is {member.size} bytes, the manifest says "
                             f"{entry['size']}")
    source = tar.extractfile(member)
    sha = hashlib.sha256()
    with extract(entry) if extract else contextlib.nullcontext() as sink:
        for chunk in _chunks(source):
            sha.update(chunk)
            if sink is not None:
                sink.write(chunk)
    if sha.hexdigest() != entry["sha256"]:
        raise _refused(path, f"{member.name} has sha256 {sha.hexdigest()}, the manifest says "
                             f"{entry['sha256']}")


def _chunks(source: IO[bytes] | None) -> Iterator[bytes]:
    while source is not None and (chunk := source.read(_CHUNK)):
        yield chunk


def _refused(shown: str, why: str) -> BundleError:
    return BundleError(f"{shown} is refused whole: {why}; nothing was imported — make it "
                       "again with `hub bundle` on the connected machine")
