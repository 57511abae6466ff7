"""The bundle format (hub/_bundle.py): what it holds, and everything it refuses whole."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from hub import BundleError
from hub._bundle import (
    BundleFile,
    BundleLock,
    Member,
    archive_sha256,
    new_manifest,
    read_bundle,
    write_bundle,
)

WHEEL = b"PK pretend wheel bytes" * 100


def _file(name: str, kind: str = "mirror", data: bytes = WHEEL) -> BundleFile:
    folder = "mirror" if kind == "mirror" else "operators"
    return BundleFile(path=f"{folder}/{name}-1.0-py3-none-any.whl", kind=kind,  # type: ignore[typeddict-item]
                      project=name, version="1.0", filename=f"{name}-1.0-py3-none-any.whl",
                      sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                      upload_time="2024-01-01T00:00:00Z")


def _lock(*names: str) -> BundleLock:
    digest = hashlib.sha256(WHEEL).hexdigest()
    return BundleLock(operators=["op"], target={"python": "3.11"}, role="operator",
                      pins={n: "1.0" for n in names}, hashes={n: [digest] for n in names})


def _write(path: Path, files: list[BundleFile], locks: list[BundleLock],
           data: bytes = WHEEL) -> str:
    manifest = new_manifest("http://hub", ["op"], [{"python": "3.11"}], locks, files)
    members = [Member(f, lambda: io.BytesIO(data)) for f in files]
    return write_bundle(path, manifest, members)


def test_a_bundle_reads_back_whole_and_its_sum_is_printable(tmp_path: Path) -> None:
    files = [_file("op", "operator"), _file("alpha")]
    digest = _write(tmp_path / "b.tar", files, [_lock("alpha")])
    out: dict[str, io.BytesIO] = {}

    def sink(entry: BundleFile) -> io.BytesIO:
        out[entry["path"]] = io.BytesIO()
        out[entry["path"]].close = lambda: None  # type: ignore[method-assign]  # read below
        return out[entry["path"]]

    manifest = read_bundle(tmp_path / "b.tar", sink)
    assert manifest["files"] == files and manifest["operators"] == ["op"]
    assert {p: b.getvalue() for p, b in out.items()} == {f["path"]: WHEEL for f in files}
    assert archive_sha256(tmp_path / "b.tar") == digest
    with tarfile.open(tmp_path / "b.tar") as tar:  # a plain tar: `tar tf` lists it
        assert tar.getnames() == ["manifest.json", *(f["path"] for f in files), "SHA256"]


@pytest.mark.parametrize(("data", "why"), [(WHEEL[::-1], "read back with sha256"),
                                           (b"short", "could not be read whole")])
def test_a_source_that_reads_back_other_bytes_writes_no_bundle(tmp_path: Path, data: bytes,
                                                               why: str) -> None:
    with pytest.raises(BundleError, match=why):
        _write(tmp_path / "b.tar", [_file("alpha")], [_lock("alpha")], data=data)
    assert list(tmp_path.iterdir()) == []  # no partial archive left behind


@pytest.mark.parametrize(("files", "locks", "why"), [
    ([_file("alpha")], [], "pinned by none of the bundle's locks"),
    ([], [_lock("alpha")], "pins alpha 1.0, but no file of it is in the bundle"),
    ([_file("alpha"), _file("alpha")], [_lock("alpha")], "lists mirror/alpha"),
])
def test_a_manifest_whose_files_and_locks_disagree_is_refused(
        tmp_path: Path, files: list[BundleFile], locks: list[BundleLock], why: str) -> None:
    with pytest.raises(BundleError, match=why):
        _write(tmp_path / "b.tar", files, locks)


def _resealed(path: Path, edit: object) -> Path:
    """A bundle rebuilt with ``edit(members)`` and a correct sum: only the inner checks
    can refuse it (a forger who recomputes the trailer)."""
    with tarfile.open(path) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()[:-1]]  # type: ignore[union-attr]
    members = edit(members)  # type: ignore[operator]
    out = path.with_name("resealed.tar")
    with open(out, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data))
        raw.flush()
        digest = hashlib.sha256(out.read_bytes()).hexdigest()
        trailer = tarfile.TarInfo("SHA256")
        trailer.size = 65
        tar.addfile(trailer, io.BytesIO(f"{digest}\n".encode()))
    return out


def test_a_member_the_manifest_does_not_list_or_bytes_it_does_not_list_are_refused(
        tmp_path: Path) -> None:
    _write(tmp_path / "b.tar", [_file("alpha")], [_lock("alpha")])

    def extra(members: list) -> list:
        info = tarfile.TarInfo("mirror/evil-1.0-py3-none-any.whl")
        info.size = 4
        return [*members, (info, b"evil")]

    def swapped(members: list) -> list:
        info, _ = members[1]
        return [members[0], (info, WHEEL[::-1])]

    with pytest.raises(BundleError, match="holds 'mirror/evil-1.0-py3-none-any.whl', which"):
        read_bundle(_resealed(tmp_path / "b.tar", extra))
    with pytest.raises(BundleError, match="has sha256 .*, the manifest says"):
        read_bundle(_resealed(tmp_path / "b.tar", swapped))


def test_a_truncated_bundle_or_another_archive_is_refused(tmp_path: Path) -> None:
    _write(tmp_path / "b.tar", [_file("alpha")], [_lock("alpha")])
    data = (tmp_path / "b.tar").read_bytes()
    (tmp_path / "cut.tar").write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="bundle cut.tar is refused whole"):
        read_bundle(tmp_path / "cut.tar")
    with tarfile.open(tmp_path / "plain.tar", "w") as tar:
        info = tarfile.TarInfo("manifest.json")
        body = json.dumps({"format": 1}).encode()
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    with pytest.raises(BundleError, match="its last member is not SHA256"):
        read_bundle(tmp_path / "plain.tar")
