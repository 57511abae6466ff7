"""hub._dist: wheel inspection and every validation rule, on crafted wheels (no server)."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from support.crafted import wheel_files, write_wheel

from hub._dist import MAX_METADATA_BYTES, check_filename, inspect_wheel, release_key
from hub._exceptions import HubError, InvalidDistribution
from hub.metadata import to_json, with_defaults

DIST_INFO = "opshub_demo-1.0.dist-info"


def test_reads_metadata_and_operators_without_importing(tmp_path: Path) -> None:
    path = write_wheel(tmp_path, wheel_files(
        "Opshub_Demo", "1.0", Keywords="image, embed", **{"Requires-Python": ">=3.10,<4",
                                                        "Requires-Dist": "numpy>=1.20"}))
    info = inspect_wheel(path)
    assert (info.name, info.version, info.filename) == ("opshub-demo", "1.0", path.name)
    assert info.summary == "A crafted operator." and info.readme == "The README card."
    assert info.keywords == ["image", "embed"] and info.requires_dist == ["numpy>=1.20"]
    assert info.requires_python == ">=3.10,<4"
    assert info.operators == [{  # every field of hub.metadata; those not given, the defaults
        "name": "opshub-demo", "target": "opshub_demo.impl:run",
        **to_json(with_defaults({"description": "Crafted for tests.", "num_cpus": 0.5})),
        "entry_point": "Opshub_Demo",
    }]
    assert info.operators[0]["kind"] == "function" and info.operators[0]["inputs"] == []
    assert info.entry_points == {"opshub.operators": {"Opshub_Demo": "opshub_demo.plugin"}}
    assert info.size == path.stat().st_size and len(info.sha256) == 64
    assert info.metadata.startswith(b"Metadata-Version")


def test_reads_a_built_test_operator(wheels: dict[str, Path]) -> None:
    info = inspect_wheel(wheels["basic"])
    ops = {op["name"]: op for op in info.operators}
    assert sorted(ops) == ["add-one", "multiply", "running-sum", "shared-name"]
    assert ops["running-sum"] | {} == ops["running-sum"]
    assert (ops["running-sum"]["kind"], ops["running-sum"]["batch"]) == ("class", True)
    assert ops["running-sum"]["inputs"] == ["number"]


def test_dynamic_registration_falls_back_to_the_entry_point(tmp_path: Path) -> None:
    files = wheel_files()
    files["opshub_demo/plugin.py"] = b"NAMES = ['a']\ndef register_operators(register):\n" \
                                     b"    for n in NAMES:\n        register(n, n + ':x')\n"
    info = inspect_wheel(write_wheel(tmp_path, files))
    assert info.operators == [{"name": "opshub-demo", "target": "opshub_demo.plugin",
                               "static": False, "entry_point": "opshub-demo"}]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidDistribution, match="no such file"):
        inspect_wheel(tmp_path / "opshub_demo-1.0-py3-none-any.whl")


def test_temp_path_is_checked_under_its_real_filename(tmp_path: Path) -> None:
    path = write_wheel(tmp_path, wheel_files(), filename=".tmp-123")
    assert inspect_wheel(path, filename="opshub_demo-1.0-py3-none-any.whl").name == "opshub-demo"


@pytest.mark.parametrize("filename, message", [
    ("../evil-1.0-py3-none-any.whl", "must not contain '/'"),
    ("a\\b-1.0-py3-none-any.whl", "must not contain '/'"),
    ("demo\x00-1.0-py3-none-any.whl", "control characters"),
    ("demo-1.0.tar.gz", "wheels only"),
    ("demo-1.0.exe", "unknown file type"),
    ("demo.whl", "not a valid wheel filename"),
    ("x" * 300 + ".whl", "1 to 255 characters"),
    ("", "1 to 255 characters"),
])
def test_bad_filenames(filename: str, message: str) -> None:
    with pytest.raises(InvalidDistribution, match=message):
        check_filename(filename)


def _zip_with_renamed_member(path: Path, old: bytes, new: bytes) -> None:
    path.write_bytes(path.read_bytes().replace(old, new))


def _bad(tmp_path: Path, case: str) -> Path:
    files = wheel_files()
    if case == "not-zip":
        path = tmp_path / "opshub_demo-1.0-py3-none-any.whl"
        path.write_bytes(b"this is not a zip")
        return path
    if case == "polyglot":
        return _polyglot(tmp_path, files)
    if case == "corrupt":  # a flipped byte inside METADATA's compressed data: a CRC error
        path = write_wheel(tmp_path, files, compression=zipfile.ZIP_STORED)
        data = path.read_bytes()
        at = data.index(b"Metadata-Version")
        path.write_bytes(data[:at] + b"X" + data[at + 1:])
        return path
    if case.startswith("missing-"):
        del files[f"{DIST_INFO}/{case.removeprefix('missing-')}"]
    edits = {
        "no-entry-point": {f"{DIST_INFO}/entry_points.txt": b"[console_scripts]\nx = y:z\n"},
        "bad-entry-points": {f"{DIST_INFO}/entry_points.txt": b"no section here\n"},
        "escape": {"../evil.py": b""},
        "syntax": {"opshub_demo/plugin.py": b"def register_operators(:\n"},
        "requires-python": {f"{DIST_INFO}/METADATA": b"Name: opshub-demo\nVersion: 1.0\n"
                                                     b"Requires-Python: >=three\n"},
        "requires-dist": {f"{DIST_INFO}/METADATA": b"Name: opshub-demo\nVersion: 1.0\n"
                                                   b"Requires-Dist: numpy >=>= 1\n"},
        "name-mismatch": {f"{DIST_INFO}/METADATA": b"Name: other\nVersion: 1.0\n"},
        "version-mismatch": {f"{DIST_INFO}/METADATA": b"Name: opshub-demo\nVersion: 2.0\n"},
        "bomb": {"opshub_demo/zeros.bin": bytes(20 * 1024 * 1024)},
        "non-utf8": {"opshub_demo/cafX.py": b""},
    }
    files.update(edits.get(case, {}))
    if case == "wrong-dist-info":
        files = {k.replace(DIST_INFO, "other-1.0.dist-info"): v for k, v in files.items()}
    compression = zipfile.ZIP_BZIP2 if case == "bzip2" else zipfile.ZIP_DEFLATED
    path = write_wheel(tmp_path, files, "opshub_demo-1.0-py3-none-any.whl", compression)
    if case == "non-utf8":  # cp437 bytes without the zip's UTF-8 flag
        _zip_with_renamed_member(path, b"opshub_demo/cafX.py", b"opshub_demo/caf\xe9.py")
    if case == "duplicate":
        with zipfile.ZipFile(path, "a") as archive, pytest.warns(UserWarning):
            archive.writestr("opshub_demo/impl.py", b"x = 2\n")
    return path


def _polyglot(tmp_path: Path, files: dict[str, bytes]) -> Path:
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as archive:
        info = tarfile.TarInfo("hello.txt")
        archive.addfile(info, io.BytesIO(b""))
    zipped = write_wheel(tmp_path, files, "inner.zip").read_bytes()
    path = tmp_path / "opshub_demo-1.0-py3-none-any.whl"
    path.write_bytes(tar.getvalue()[:1024] + zipped)
    return path


@pytest.mark.parametrize("case, message", [
    ("not-zip", "not a zip archive"),
    ("polyglot", "both a zip and a tar"),
    ("corrupt", "the archive is corrupt"),
    ("bzip2", "compression other than STORED or DEFLATED"),
    ("duplicate", "appears twice"),
    ("non-utf8", "is not UTF-8"),
    ("escape", "escapes the archive"),
    ("bomb", "zip bomb"),
    ("missing-METADATA", "METADATA is missing"),
    ("missing-WHEEL", "WHEEL is missing"),
    ("missing-RECORD", "RECORD is missing"),
    ("wrong-dist-info", "expected one 'opshub-demo-1.0.dist-info' directory"),
    ("name-mismatch", "METADATA says 'other'"),
    ("version-mismatch", "METADATA says '2.0'"),
    ("no-entry-point", "declares no 'opshub.operators' entry point"),
    ("bad-entry-points", "entry_points.txt is invalid"),
    ("syntax", "plugin module 'opshub_demo.plugin' does not parse"),
    ("requires-python", "Requires-Python '>=three' is not a valid specifier"),
    ("requires-dist", "is not a valid requirement"),
])
def test_bad_wheels(tmp_path: Path, case: str, message: str) -> None:
    path = _bad(tmp_path, case)
    with pytest.raises(InvalidDistribution, match=message) as caught:
        inspect_wheel(path)
    assert str(caught.value).startswith("opshub_demo-1.0-py3-none-any.whl: ")
    assert isinstance(caught.value, HubError) and isinstance(caught.value, ValueError)


def test_non_ascii_metadata_is_read_as_utf8(tmp_path: Path) -> None:
    files = wheel_files("opshub-demo", "1.0", Summary="Embeds — fast, naïve")
    path = write_wheel(tmp_path, files)
    assert inspect_wheel(path).summary == "Embeds — fast, naïve"


def test_an_oversized_member_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2 MiB of METADATA that deflates to 2 KB: under the zip-bomb check, over the cap (a
    100 MiB upload at PyPI's 50x ratio could otherwise carry 5 GB of README)."""
    files = wheel_files()
    files[f"{DIST_INFO}/METADATA"] += b"a" * (2 * MAX_METADATA_BYTES)
    path = write_wheel(tmp_path, files)
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def spy(self: zipfile.ZipFile, name: object, *args: object, **kwargs: object) -> object:
        opened.append(str(getattr(name, "filename", name)))
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    with pytest.raises(InvalidDistribution, match="METADATA is 2,097,.* over the hub's limit"):
        inspect_wheel(path)
    assert not [m for m in opened if m.endswith("METADATA")]


@pytest.mark.parametrize("first, second, conflict", [
    ("a-1.0-py3-none-any.whl", "a-1.0.0-py3-none-any.whl", True),  # equal versions
    ("a-1.0-py3-none-any.whl", "a-1.0-py2.py3-none-any.whl", True),  # both serve py3
    ("a-1.0-py3-none-any.whl", "a-1.0-1-py3-none-any.whl", True),  # a build tag wins
    ("a-1.0-cp311-cp311-manylinux_2_28_x86_64.whl", "a-1.0-py3-none-any.whl", True),
    ("a-1.0-cp311-cp311-manylinux_2_28_x86_64.whl", "a-1.0-cp312-cp312-manylinux_2_28_x86_64.whl",
     False),  # another Python
    ("a-1.0-py3-none-any.whl", "a-1.1-py3-none-any.whl", False),
])
def test_release_keys(first: str, second: str, conflict: bool) -> None:
    assert release_key(first).conflicts_with(release_key(second)) is conflict


@pytest.mark.parametrize("filename, message", [
    ("Opshub_Demo-1.0-py3-none-any.whl", "normalized project name 'opshub_demo'"),
    ("opshub.demo-1.0-py3-none-any.whl", "normalized project name 'opshub_demo'"),
    ("opshub_demo-1.00-py3-none-any.whl", "spell the version as '1.0'"),
    ("opshub_demo-v1.0-py3-none-any.whl", "spell the version as '1.0'"),
    ("\u017fop-1.0-py3-none-any.whl", "must be ASCII"),
])
def test_filenames_must_be_canonical(filename: str, message: str) -> None:
    with pytest.raises(InvalidDistribution, match=message):
        check_filename(filename)
