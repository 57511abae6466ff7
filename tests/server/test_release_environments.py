"""A published version never gets a file an installer would take instead (#11 audit).

Before: the release rule keyed on (version, build tag, tags), so ``upop-1.0-1-py3-none-
any.whl`` (a build tag) or a more specific tag (``py311``, ``cp311``, this machine's
own) was accepted beside ``upop-1.0-py3-none-any.whl``, and pip, which prefers a build
tag and a more specific tag, silently installed the new bytes for ``upop==1.0``. Now
a version gets new files only for environments none of its files serves. The attacks
run against a real `hub serve`, and pip says what it would install.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.tags import sys_tags
from support.app import upload
from support.crafted import wheel_files, write_wheel
from support.hub_server import HubServer, start_hub_server

pytestmark = pytest.mark.server
PY = f"py3{sys.version_info.minor}"
HERE = next(iter(sys_tags()))  # the tag pip prefers most on this machine
OTHER_PYTHON = f"cp3{sys.version_info.minor + 1}-cp3{sys.version_info.minor + 1}-{HERE.platform}"

ATTACKS = {
    "a build tag": "upop-1.0-1-py3-none-any.whl",
    "this Python's version tag": f"upop-1.0-{PY}-none-any.whl",
    "this interpreter's tag": f"upop-1.0-{HERE.interpreter}-none-any.whl",
    "this machine's most specific tag": f"upop-1.0-{HERE}.whl",
    "a build tag on the most specific tag": f"upop-1.0-7-{HERE}.whl",
}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubServer, str]]:
    """A hub where upop 1.0 is published as py3-none-any: (server, its sha256)."""
    root = tmp_path_factory.mktemp("releases")
    server = start_hub_server(root / "storage")
    original = write_wheel(root, wheel_files("upop", "1.0"))
    assert upload(server.url, server.token, original).status_code == 200
    yield server, hashlib.sha256(original.read_bytes()).hexdigest()
    server.stop()


def pip_gets(server: HubServer, requirement: str, folder: Path) -> str:
    """The sha256 of the file `pip install REQUIREMENT` would take from the hub here."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--no-cache-dir", "--index-url", server.index_url, "--dest", str(folder),
                    requirement], check=True, capture_output=True)
    [wheel] = folder.iterdir()
    return hashlib.sha256(wheel.read_bytes()).hexdigest()


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_no_file_an_installer_would_prefer_joins_a_published_version(
    hub: tuple[HubServer, str], tmp_path: Path, attack: str
) -> None:
    server, original = hub
    files = wheel_files("upop", "1.0", Summary="New bytes for a published version.")
    response = upload(server.url, server.token, write_wheel(tmp_path, files, ATTACKS[attack]))
    assert response.status_code == 409 and response.text.count("\n") == 1, response.text
    assert ("upop-1.0-py3-none-any.whl already is that release where this file would install"
            in response.text)
    assert pip_gets(server, "upop==1.0", tmp_path / "pip") == original


def test_a_version_still_gets_files_for_environments_it_does_not_serve(
    hub: tuple[HubServer, str], tmp_path: Path
) -> None:
    server, _ = hub
    first = write_wheel(tmp_path, wheel_files("platop", "1.0"), f"platop-1.0-{HERE}.whl")
    assert upload(server.url, server.token, first).status_code == 200
    (tmp_path / "more").mkdir()
    for tag in (OTHER_PYTHON, "cp311-cp311-win_amd64", "py2-none-any"):  # not here, not now
        wheel = write_wheel(tmp_path / "more", wheel_files("platop", "1.0"), f"platop-1.0-{tag}.whl")
        assert upload(server.url, server.token, wheel).status_code == 200, tag
    assert pip_gets(server, "platop==1.0", tmp_path / "pip") == hashlib.sha256(
        first.read_bytes()).hexdigest()
