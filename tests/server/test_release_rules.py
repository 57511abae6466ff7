"""Immutable releases and upload limits, each written as the attack of #11 (in-process hub)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from support.app import InProcessHub, store_state
from support.crafted import wheel_files, write_wheel

from hub._dist import MAX_METADATA_BYTES

DIST_INFO = "upop-1.0.dist-info"


@pytest.fixture
def published(hub_app: InProcessHub, tmp_path: Path) -> InProcessHub:
    """A hub where upop 1.0 (py3-none-any) is published."""
    response = hub_app.upload(write_wheel(tmp_path, wheel_files("upop", "1.0")))
    assert response.status_code == 200, response.text
    return hub_app


def _other_bytes(tmp_path: Path, name: str = "upop", version: str = "1.0") -> Path:
    files = wheel_files(name, version, Summary="Different bytes for the same release.")
    return write_wheel(tmp_path / "other", files, filename="any.whl")


# filename as uploaded -> (status, what the one-line answer says)
ALIASES = {
    "UPOP-1.0-py3-none-any.whl": (400, "normalized project name 'upop', not 'UPOP'"),
    "upop-01.0-py3-none-any.whl": (400, "version as '1.0' (PEP 440 normal form), not '01.0'"),
    "upop-1.0-py2.py3-none-any.whl": (409, "upop-1.0-py3-none-any.whl already is that release"),
}


@pytest.mark.parametrize("filename", list(ALIASES))
def test_an_alias_filename_cannot_add_bytes_to_a_published_version(
    published: InProcessHub, tmp_path: Path, filename: str
) -> None:
    (tmp_path / "other").mkdir()
    before = store_state(published.storage)
    response = published.upload(_other_bytes(tmp_path), filename=filename)
    status, message = ALIASES[filename]
    assert response.status_code == status and message in response.text, response.text
    assert store_state(published.storage) == before


def test_an_equal_version_spelt_longer_is_the_same_release(published: InProcessHub,
                                                           tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    wheel = write_wheel(tmp_path / "other", wheel_files("upop", "1.0.0"))  # canonical, == 1.0
    response = published.upload(wheel)
    assert response.status_code == 409 and "already is that release" in response.text


@pytest.mark.parametrize("name", ["\u017fop", "\u212aop"])  # LATIN SMALL LONG S, KELVIN SIGN
def test_a_unicode_project_name_is_refused(hub_app: InProcessHub, tmp_path: Path,
                                           name: str) -> None:
    response = hub_app.upload(write_wheel(tmp_path, wheel_files(name, "1.0")))
    assert response.status_code == 400 and "ASCII" in response.text, response.text
    ascii_file = write_wheel(tmp_path, wheel_files(name, "1.0"),
                             filename="kop-1.0-py3-none-any.whl")
    assert hub_app.upload(ascii_file).status_code == 400  # nor in METADATA behind an ASCII name
    assert hub_app.store.projects() == []


def test_an_identical_reupload_stays_a_no_op(published: InProcessHub, tmp_path: Path) -> None:
    again = published.upload(tmp_path / "upop-1.0-py3-none-any.whl")
    assert again.status_code == 200 and "identical content" in again.text


def test_padded_metadata_is_refused_before_it_is_read(hub_app: InProcessHub,
                                                      tmp_path: Path) -> None:
    files = wheel_files("padop", "1.0")
    readme = random.Random(0).randbytes(MAX_METADATA_BYTES // 2).hex()  # 1 MiB of hex
    files["padop-1.0.dist-info/METADATA"] += readme.encode()  # a 3.3 MB wheel held 140 MB
    response = hub_app.upload(write_wheel(tmp_path, files))
    assert response.status_code == 400, response.text
    assert f"over the hub's limit of {MAX_METADATA_BYTES:,} bytes" in response.text
    assert "shorten the README" in response.text
    assert store_state(hub_app.storage) == ([], b"")


BAD_MEMBERS = {
    "direct URL requirement": ("edop-1.0.dist-info/METADATA", b"", "direct URL reference"),
    "backslash member": ("edop\\evil.py", b"x = 1\n", "contains a backslash"),
    "200,000-deep expression": ("edop/plugin.py", b"x = " + b"-" * 200_000 + b"1\n",
                                "deeper than the hub's limit of 100 levels"),
    "huge plugin module": ("edop/plugin.py", b"#" * 300_000 + b"\n",
                           "edop/plugin.py is 300,001 bytes, over the hub's limit"),
    "parseable deep expression": ("edop/plugin.py", b"x = " + b"1+" * 1000 + b"1\n",
                                  "deeper than the hub's limit of 100 levels"),
    "huge entry_points.txt": ("edop-1.0.dist-info/entry_points.txt",
                              b"[x]\n" + b"".join(b"e%d = m:f\n" % i for i in range(8000)),
                              "entry_points.txt is"),
    "long summary": ("edop-1.0.dist-info/METADATA", b"", "the Summary is 600 characters"),
}


@pytest.mark.parametrize("case", list(BAD_MEMBERS))
def test_bad_members_are_a_400_naming_the_rule(hub_app: InProcessHub, tmp_path: Path,
                                               case: str) -> None:
    member, data, message = BAD_MEMBERS[case]
    files = wheel_files("edop", "1.0")
    if case == "direct URL requirement":
        files = wheel_files("edop", "1.0", **{"Requires-Dist": "evil @ https://example.com/e.whl"})
    elif case == "long summary":
        files = wheel_files("edop", "1.0", Summary="s" * 600)
    elif case == "huge entry_points.txt":
        files[member] += data
    else:
        files[member] = data
    response = hub_app.upload(write_wheel(tmp_path, files))
    assert response.status_code == 400 and message in response.text, response.text
    assert response.text.count("\n") == 1
    assert store_state(hub_app.storage) == ([], b"")


@pytest.mark.parametrize("spelling", ["filename", "METADATA"])
def test_a_kelvin_sign_alias_cannot_add_bytes_to_a_published_project(
    hub_app: InProcessHub, tmp_path: Path, spelling: str
) -> None:
    """``\u212aop`` (KELVIN SIGN) lowercases to ``kop``: a real alias of a published name."""
    assert hub_app.upload(write_wheel(tmp_path, wheel_files("kop", "1.0"))).status_code == 200
    (tmp_path / "other").mkdir()
    files = wheel_files("\u212aop", "1.0", Summary="Other bytes under an alias.")
    filename = "\u212aop-1.0-py3-none-any.whl" if spelling == "filename" else (
        "kop-1.0-py3-none-any.whl")
    before = store_state(hub_app.storage)
    response = hub_app.upload(write_wheel(tmp_path / "other", files, filename))
    assert response.status_code == 400 and response.text.count("\n") == 1, response.text
    assert "ASCII" in response.text
    assert store_state(hub_app.storage) == before
